/**
 * What ran in each long task of the server's main thread: `node bench/long-tasks.mjs <dir>` after
 * `bench/pattern-lag.ts --profile-dir <dir>`. For each server's probe file (probe-<tag>-<pid>.json: its tasks of 10 ms or
 * more, or 3 ms of CPU, while the 100 patterns were checked) it reads the main thread's CPU profile of the same process
 * (CPU.<date>.<time>.<pid>.0.<n>.cpuprofile) and prints, per task with 3 ms or more of CPU (the second argument), the functions the samples in it were in: the most
 * frequent by self time, and by inclusive time the frames that show which part of the server's work it was.
 * Samples are every 200 µs; a profile's clock is process.hrtime's, which the probe file gives the offset to.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) throw new Error("usage: node bench/long-tasks.mjs <profile dir>");
// Tasks with at least this much of the main thread's CPU (ms; default 3): a long wait for a CPU has no samples to show.
const minMs = Number(process.argv[3] ?? 3);
const files = readdirSync(dir);
const name = (frame) =>
  `${frame.functionName || "(anonymous)"} ${frame.url ? `${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}` : ""}`.trim();

for (const probeFile of files.filter((f) => f.startsWith("probe-"))) {
  const [, tag, pid] = /^probe-(.+)-(\d+)\.json$/.exec(probeFile) ?? [];
  const profileFile = files.find(
    (f) => f.endsWith(".cpuprofile") && f.split(".")[3] === pid && f.split(".")[4] === "0",
  );
  const probe = JSON.parse(readFileSync(join(dir, probeFile), "utf8"));
  console.log(`== ${tag} (pid ${pid}): ${profileFile ?? "no profile"}`);
  if (!profileFile) continue;
  const profile = JSON.parse(readFileSync(join(dir, profileFile), "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const times = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) {
    t += d;
    times.push(t);
  }
  for (const task of probe.longTasks.filter((x) => x.cpuMs >= minMs)) {
    const from = (task.atMs + probe.hrOffsetMs) * 1000;
    const to = from + (task.ms + 1) * 1000;
    const self = new Map();
    const inclusive = new Map();
    let n = 0;
    for (let i = 0; i < times.length; i++) {
      if (times[i] < from || times[i] > to) continue;
      n++;
      let node = byId.get(profile.samples[i]);
      const leaf = name(node.callFrame);
      self.set(leaf, (self.get(leaf) ?? 0) + 1);
      const seen = new Set();
      for (; node; node = byId.get(parent.get(node.id))) {
        const frame = name(node.callFrame);
        if (seen.has(frame)) continue;
        seen.add(frame);
        inclusive.set(frame, (inclusive.get(frame) ?? 0) + 1);
      }
    }
    const top = (m, k) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([f, c]) => `${((c * 100) / Math.max(1, n)).toFixed(0)}% ${f}`)
        .join("\n      ");
    console.log(
      `  task ${task.ms.toFixed(1)} ms (CPU ${task.cpuMs.toFixed(1)}, waiting ${task.waitMs.toFixed(1)}, GC ${task.gcMs.toFixed(1)}) at ${(task.atMs / 1000).toFixed(2)} s: ${n} samples\n    self:\n      ${top(self, 8)}\n    inclusive:\n      ${top(inclusive, 25)}`,
    );
  }
}
