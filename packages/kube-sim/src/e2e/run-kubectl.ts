/** Test helper: runs the real kubectl (v1.32 at /usr/bin/kubectl) against a simulator, with optional stdin. */
import { spawn } from "node:child_process";
import type { KubeSim } from "../sim.js";

const KUBECTL = process.env.KUBECTL ?? "/usr/bin/kubectl";

export function kubectl(
  sim: KubeSim,
  args: string[],
  stdin?: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, args, {
      env: { ...process.env, KUBECONFIG: sim.kubeconfigPath, ...env },
      timeout: 30_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}
