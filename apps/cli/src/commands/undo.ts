/** `rollway undo <component> --to-revision N`: one workload back to an earlier revision, as `kubectl argo rollouts undo`. */
import { type ClusterOptions, openDirect } from "../direct.js";
import { type Output, printJson } from "../output.js";

export async function undoCommand(
  component: string,
  options: ClusterOptions & { toRevision?: number },
  output: Output,
): Promise<void> {
  const direct = await openDirect(options);
  try {
    const target = await direct.client.target(component, options.namespace);
    const result = await direct.client.undo(target, { toRevision: options.toRevision ?? 0 });
    if (output.json) printJson(output, { ok: true, component, ...result });
    else if (result.skipped) output.out(`${component} already runs revision ${result.revision}; nothing sent.\n`);
    else output.out(`${component}: back to the template of revision ${result.revision}; it now rolls out.\n`);
  } finally {
    direct.close();
  }
}
