// Start-up in a fresh process: the first startKubeSim() pays for loading the CRDs (parsed YAML is cached on disk
// as JSON, keyed by the file's SHA-256), later ones reuse the in-memory copy. Run after `pnpm build`:
//   node bench/cold-start.mjs            (disk cache as it is)
//   node bench/cold-start.mjs --no-cache (clears the disk cache first)
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

if (process.argv.includes("--no-cache"))
  rmSync(join(tmpdir(), "rollway-kube-sim-cache"), { recursive: true, force: true });
const t0 = performance.now();
const { ManualClock, startKubeSim } = await import("../dist/index.js");
const t1 = performance.now();
const first = await startKubeSim({ clock: new ManualClock() });
const t2 = performance.now();
await first.close();
const t3 = performance.now();
const second = await startKubeSim({ clock: new ManualClock() });
const t4 = performance.now();
await second.close();
console.log(
  `import ${(t1 - t0).toFixed(1)} ms, first start ${(t2 - t1).toFixed(1)} ms, second start ${(t4 - t3).toFixed(1)} ms`,
);
