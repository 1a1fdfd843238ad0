/** `rollway status`'s view, printed the same whether it was read from the cluster or from a rollway server. */
import type { WorkloadStatus } from "@rollway/rollout-client";
import { type Output, printJson } from "./output.js";
import { describeStatus } from "./progress.js";

/** What `rollway status` shows, read from the cluster or from a rollway server: the same either way. */
export interface StatusView {
  environment: string;
  namespace: string;
  release: { id: string; state: string } | null;
  components: (WorkloadStatus & { component: string; stuck?: string[]; drift?: string })[];
}

export function printStatus(view: StatusView, output: Output): void {
  if (output.json) {
    printJson(output, { ok: true, ...view });
    return;
  }
  const width = Math.max(0, ...view.components.map((s) => s.component.length));
  const kindWidth = Math.max(0, ...view.components.map((s) => s.kind.length + s.name.length + 1));
  const lines = view.components.map(
    (s) =>
      `${s.component.padEnd(width)}  ${`${s.kind}/${s.name}`.padEnd(kindWidth)}  ${describeStatus(s)}${[...(s.drift ? [s.drift] : []), ...(s.stuck ?? [])].map((why) => `\n${" ".repeat(width + 2)}↳ ${why}`).join("")}`,
  );
  const head = view.release
    ? `Environment ${view.environment} (namespace ${view.namespace}), latest release ${view.release.id}: ${view.release.state}`
    : `Environment ${view.environment} (namespace ${view.namespace}), no release yet`;
  output.out(`${head}\n${lines.join("\n")}\n`);
}
