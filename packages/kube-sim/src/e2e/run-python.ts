/** Test helper: runs a Python script with the Debian python3-kubernetes client against a simulator. */
import { spawn } from "node:child_process";
import type { KubeSim } from "../sim.js";

// The system interpreter: python3-kubernetes is a Debian package, not installed for other Pythons on PATH.
const PYTHON = process.env.KUBE_SIM_PYTHON ?? "/usr/bin/python3";

export function python(sim: KubeSim, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-c", script], {
      env: { ...process.env, KUBECONFIG: sim.kubeconfigPath },
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
  });
}
