/**
 * A release engine in its own process, for the crash tests: it plans and applies the payload it is given and
 * prints every event as a JSON line, until the test kills it with SIGKILL (no cleanup runs, as in a real crash).
 * Usage: node --import tsx crash-engine.ts <kubeconfig path> <environment JSON> <payload JSON>
 */

import { parseDeployPayload } from "@rollway/payload-schema";
import { connect } from "@rollway/rollout-client";
import { createReleaseEngine } from "../engine.js";
import { parseEnvironment } from "../environment.js";
import { openKubeApi } from "../kube-api.js";

const [file, environmentJson, payloadJson] = process.argv.slice(2);
const kubeconfig = { file: file as string };
const client = await connect({ kubeconfig });
const api = await openKubeApi({ kubeconfig });
const engine = createReleaseEngine({ client, api, leaseDurationSeconds: 1, identity: "engine-that-crashes" });
const environment = parseEnvironment(JSON.parse(environmentJson as string));
const plan = await engine.plan(parseDeployPayload(payloadJson as string), environment);
await engine.apply(plan, { onEvent: (e) => process.stdout.write(`${JSON.stringify(e)}\n`) });
process.stdout.write(`${JSON.stringify({ type: "exit" })}\n`);
client.close();
api.close();
