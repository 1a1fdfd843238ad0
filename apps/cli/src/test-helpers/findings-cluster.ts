/**
 * Test resources for the issue #13 regression tests run through the built binary: payload files, the cluster's
 * objects read over plain HTTP (kube-sim takes the simulator's bearer token or none), and the Lease's expiry.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CliResult } from "./run-cli.js";

const NS = "demo";
const LEASE = "rollway-release-demo";

/** A directory for payload files, deleted by `remove()`. */
export function payloadDir(prefix: string): {
  write(name: string, payload: unknown): string;
  writeText(fileName: string, text: string): string;
  remove(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), `rollway-${prefix}-`));
  return {
    writeText(fileName, text) {
      const file = join(dir, fileName);
      writeFileSync(file, text);
      return file;
    },
    write(name, payload) {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(payload));
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A payload giving the frontend (and, optionally, backend-2) a new image, promoted as `mode` says. */
export function frontendPayload(tag: string, mode: "auto" | "manual", options: { backend2?: boolean } = {}) {
  return {
    frontend: { image: `my-registry/image-for-frontend:${tag}` },
    ...(options.backend2
      ? {
          backends: {
            images: [`my-registry/image-for-other-backends:${tag}`],
            deployRules: [{ source: ".*", target: "^backend-2$" }],
          },
        }
      : {}),
    noDowntime: { promotionMode: mode },
  };
}

/** The last JSON line a `--json` command printed (its `{"type":"done",...}` line for release commands). */
export function lastJson<T = Record<string, unknown>>(r: CliResult): T {
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines.at(-1) as string) as T;
}

/** GET a cluster object from kube-sim. */
export async function getObject<T = Record<string, unknown>>(url: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`);
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

export interface LeaseView {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
  metadata: { annotations?: Record<string, string> };
}

export const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE}`;

/**
 * Waits (real time: the engine judges the Lease by its own clock) until the environment's Lease, last renewed by an
 * engine that no longer runs, has expired.
 */
export async function leaseExpiry(url: string): Promise<LeaseView> {
  const lease = await getObject<LeaseView>(url, leasePath);
  const renewed = Date.parse(lease.spec.renewTime ?? "");
  const until = renewed + (lease.spec.leaseDurationSeconds ?? 0) * 1000 + 300;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now())));
  return lease;
}

/** The demo environment file's text with an oConfig (holding these secrets) for backend-2, which has none yet. */
export function withBackend2Secrets(environmentYaml: string, secrets: Record<string, string>): string {
  const line = "strategy: { type: blueGreen, activeService: backend-2, previewService: backend-2-preview }";
  if (!environmentYaml.includes(line)) throw new Error("the demo environment no longer has backend-2's line");
  return environmentYaml.replace(
    line,
    `${line}\n    oConfig: '${JSON.stringify({ "sc.production": true, ...secrets })}'`,
  );
}
