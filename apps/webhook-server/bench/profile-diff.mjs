/**
 * Two V8 CPU profiles side by side (e.g. from `bench/dry-run-profile.ts --server <main.js> --node-flags
 * "--cpu-prof --cpu-prof-interval 100 --cpu-prof-dir=<dir>"`, one server with a cluster and one without): each
 * function's self time as a share of the process's busy time (idle excluded), the largest differences first, and, for
 * `--lines <function name>`, that function's ticks by source line in each profile.
 * `node bench/profile-diff.mjs <a.cpuprofile> <b.cpuprofile> [--top n] [--lines <function name>]`
 */
import { readFileSync } from "node:fs";

const [fileA, fileB] = process.argv.slice(2, 4);
const option = (name) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const top = Number(option("--top") ?? 20);
const linesOf = option("--lines");

function load(file) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (const [i, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const byFunction = new Map();
  let busy = 0;
  for (const [id, micros] of self) {
    const frame = byId.get(id).callFrame;
    if (frame.functionName === "(idle)") continue;
    const key = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").at(-1)}:${frame.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    busy += micros;
  }
  const lines = new Map();
  for (const node of profile.nodes)
    if (node.callFrame.functionName === linesOf)
      for (const { line, ticks } of node.positionTicks ?? []) lines.set(line, (lines.get(line) ?? 0) + ticks);
  return { byFunction, busy, lines };
}

const [a, b] = [load(fileA), load(fileB)];
const share = (p, key) => (100 * (p.byFunction.get(key) ?? 0)) / p.busy;
const keys = [...new Set([...a.byFunction.keys(), ...b.byFunction.keys()])];
const rows = keys.map((key) => ({ key, a: share(a, key), b: share(b, key) })).sort((x, y) => y.a - y.b - (x.a - x.b));
console.log(`busy: a ${(a.busy / 1000).toFixed(0)} ms, b ${(b.busy / 1000).toFixed(0)} ms; % of busy time, a − b`);
for (const r of [...rows.slice(0, top), ...rows.slice(-Math.min(top, 10)).reverse()])
  console.log(
    `${(r.a - r.b).toFixed(2).padStart(7)} ${r.a.toFixed(2).padStart(6)} ${r.b.toFixed(2).padStart(6)}  ${r.key}`,
  );
if (linesOf)
  for (const [name, p] of [
    ["a", a],
    ["b", b],
  ])
    console.log(
      `${linesOf} in ${name}, ticks by line: ${[...p.lines]
        .sort((x, y) => x[0] - y[0])
        .map(([l, t]) => `${l}:${t}`)
        .join(" ")}`,
    );
