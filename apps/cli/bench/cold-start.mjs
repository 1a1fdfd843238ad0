// Cold start of the built binary against `node -e 0`, in the same run (target: at most 2.5 times node -e 0).
// `rollway status --json` runs against `rollway serve --sim` started in its own process: straight to its kube-sim
// (kubeconfig), and through the server (`--server`). Usage: node bench/cold-start.mjs [runs] [other/dist/main.js]
// With another build's main.js, its `status --json` (cached, first run on the file, and --server) runs interleaved
// beside this one (a side-by-side comparison): `node bench/cold-start.mjs 15 /work/wt/base/apps/cli/dist/main.js`.
// `status` reads the environment file through rollway's cache of validated environments (kept in a temporary folder
// for the bench, filled by the first run); "no environment cache" is ROLLWAY_NO_CACHE=1 (validates, writes nothing),
// "first run, empty cache" a first run on a fresh machine (validates, and writes the cache entry).
// Beside the wall time, the CPU time (user + system) of each run: on a busy machine the wall time mostly measures
// waiting for a core, the CPU time what the command itself costs.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const runs = Number(process.argv[2] ?? 20);
const other = process.argv[3];

const sim = spawn(process.execPath, [bin, "serve", "--sim", "--port", "0", "--json"], {
  stdio: ["ignore", "pipe", "ignore"],
});
const info = await new Promise((resolve, reject) => {
  let out = "";
  sim.stdout.on("data", (d) => {
    out += d;
    const nl = out.indexOf("\n");
    if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
  });
  sim.on("close", () => reject(new Error(`rollway serve --sim ended: ${out}`)));
});
const cacheDir = mkdtempSync(path.join(tmpdir(), "rollway-bench-cache-"));
const env = {
  ...process.env,
  KUBECONFIG: info.kubeconfig,
  ROLLWAY_ENV: info.environmentFile,
  ROLLWAY_CACHE_DIR: cacheDir,
  NO_COLOR: "1",
};
const noCache = { ...env, ROLLWAY_NO_CACHE: "1" };
const server = ["--server", info.url, "--token", info.tokens.deploy, "--project", "demo", "--env", "demo"];

const cases = {
  "node -e 0": ["-e", "0"],
  "rollway --version": [bin, "--version"],
  "rollway status --json": [bin, "status", "--json"],
  "… no environment cache": [bin, "status", "--json"],
  "… first run, empty cache": [bin, "status", "--json"],
  "… --server (via the server)": [bin, "status", "--json", ...server],
  ...(other
    ? {
        "other build: status --json": [other, "status", "--json"],
        "other: … no environment cache": [other, "status", "--json"],
        "other: … first run, empty cache": [other, "status", "--json"],
        "other: … --server": [other, "status", "--json", ...server],
      }
    : {}),
};
// A first run on a fresh machine: the cache is on but empty (each run its own new folder), so the run validates the
// file and writes its entry.
let fresh = 0;
const envOf = (name) =>
  name.endsWith("… no environment cache")
    ? noCache
    : name.endsWith("… first run, empty cache")
      ? { ...env, ROLLWAY_CACHE_DIR: path.join(cacheDir, `fresh-${fresh++}`) }
      : env;
// The CPU time (user + system, every thread) each process reports at its exit, read by a preloaded script: to the
// microsecond, where /usr/bin/time rounded to 10 ms.
const preload = path.join(cacheDir, "cpu-at-exit.cjs");
writeFileSync(
  preload,
  'process.on("exit", () => { const u = process.cpuUsage(); process.stderr.write("rollway-bench-cpu " + (u.user + u.system) + "\\n"); });\n',
);
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const cpu = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  // Interleaved, so a busy machine slows every case alike.
  for (const [name, args] of Object.entries(cases)) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["--require", preload, ...args], { env: envOf(name), encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
    times[name].push(ms);
    const used = /rollway-bench-cpu (\d+)/.exec(r.stderr ?? "");
    if (used) cpu[name].push(Number(used[1]) / 1000);
  }
}
sim.kill("SIGTERM");
rmSync(cacheDir, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(times["node -e 0"]);
const cpuBase = median(cpu["node -e 0"]);
console.log(`cold start, median of ${runs} runs each, interleaved (Node ${process.version})`);
console.log(
  `load average ${(await import("node:os"))
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`,
);
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  const c = median(cpu[name]);
  console.log(
    `${name.padEnd(33)} ${m.toFixed(0).padStart(5)} ms  ${(m / base).toFixed(2)}× node -e 0  (min ${Math.min(...xs).toFixed(0)} ms)   CPU ${c.toFixed(0).padStart(4)} ms  ${(c / cpuBase).toFixed(2)}×`,
  );
}
