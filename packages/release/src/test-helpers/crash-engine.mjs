// A release engine in its own process, for the crash tests: it plans and applies the payload it is given and
// prints every event as a JSON line, until the test kills it with SIGKILL (no cleanup runs, as in a real crash).
// Plain JavaScript over the built package (turbo builds it before tests), so the process starts fast.
// Usage: node crash-engine.mjs <kubeconfig path> <environment JSON> <payload JSON>
import { parseDeployPayload } from "@rollway/payload-schema";
import { createReleaseEngine, parseEnvironment } from "@rollway/release";
import { connect } from "@rollway/rollout-client";

const [file, environmentJson, payloadJson] = process.argv.slice(2);
const kubeconfig = { file };
const client = await connect({ kubeconfig });
const engine = createReleaseEngine({ client, leaseDurationSeconds: 1, identity: "engine-that-crashes" });
const plan = await engine.plan(parseDeployPayload(payloadJson), parseEnvironment(JSON.parse(environmentJson)));
await engine.apply(plan, { onEvent: (e) => process.stdout.write(`${JSON.stringify(e)}\n`) });
process.stdout.write(`${JSON.stringify({ type: "exit" })}\n`);
client.close();
