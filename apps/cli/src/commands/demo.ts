/**
 * The README's main job on the embedded default: today, validate the seed's example payload and print the
 * resolved plan for the demo environment's backends.
 */
import { explain } from "@rollway/deploy-rules";
import { EXAMPLE_PAYLOAD_TEXT, parseDeployPayload } from "@rollway/payload-schema";
import { type Output, printJson } from "../output.js";
import { routeBackends } from "./rules-explain.js";

export const DEMO_BACKENDS = ["backend-1", "backend-2", "backend-3", "backend-4", "backend-5"];

export function demoCommand(output: Output): void {
  const payload = parseDeployPayload(EXAMPLE_PAYLOAD_TEXT);
  const resolution = routeBackends(payload, DEMO_BACKENDS);
  if (output.json) {
    printJson(output, { ok: true, payload, backends: resolution });
    return;
  }
  const lines = [
    "Deploy payload: the example of seed 004 (valid)",
    `Frontend:       ${payload.frontend?.image ?? "(unchanged)"}`,
    `Code as data:   ${payload.codeAsData?.image ?? "(unchanged)"} (update mode ${payload.codeAsData?.updateMode ?? "auto"})`,
    `Promotion:      ${payload.noDowntime?.promotionMode ?? "auto"}`,
    `Backends:       ${DEMO_BACKENDS.join(", ")}`,
    "",
    explain(resolution),
  ];
  output.out(lines.join("\n"));
}
