// The main thread's own CPU time of a full snapshot, split at the end of the export's read, for builds side by side:
// `node bench/main-thread.mjs <rounds> <export.ndjson> <dist/index.js>...` from `packages/snapshooter` (each build's
// `dist/index.js`; the bench:compare export, `EXPORT_DIR`, serves). Each round runs every build once, in turn, in a
// fresh `node` (this file again, with `--one`), into an empty folder; prints each build's medians.
//
// The time is the main thread's on-CPU time from Linux's schedstat (nanoseconds, not bench:compare's 10 ms ticks):
// what other processes take of the machine does not count, only what they take of the caches. The read ends at the
// `source-loaded` event; the rest is the selection, rendering, hashing and writing.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const onCpuMs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;

if (process.argv[2] === "--one") {
  const [, , , entry, source, outputDir] = process.argv;
  const { runSnapshots } = await import(entry);
  const start = onCpuMs();
  let loaded = 0;
  const report = await runSnapshots({
    config: [
      {
        snapshooter: {
          name: "My Projects",
          rootTags: ["10000000000000000000"],
          exclude: ["10000000000000000001"],
          outputDir,
        },
      },
    ],
    source,
    onEvent: (event) => {
      if (event.type === "source-loaded") loaded = onCpuMs();
    },
  });
  const end = onCpuMs();
  if (report.entries[0].status === "failed") throw new Error(report.entries[0].error.message);
  console.log(JSON.stringify({ read: loaded - start, rest: end - loaded, total: end - start }));
} else {
  const [rounds, source, ...entries] = process.argv.slice(2);
  const figures = entries.map(() => []);
  const dir = mkdtempSync(path.join(os.tmpdir(), "snapshooter-main-thread-"));
  for (let round = 0; round < Number(rounds); round++) {
    for (const [i, entry] of entries.entries()) {
      const out = path.join(dir, "out");
      rmSync(out, { recursive: true, force: true });
      const args = [fileURLToPath(import.meta.url), "--one", path.resolve(entry), path.resolve(source), out];
      figures[i].push(JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" })));
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  for (const [i, entry] of entries.entries()) {
    const of = (key) => figures[i].map((f) => f[key]);
    console.log(
      `${entry}: main-thread CPU, median of ${rounds}: read ${median(of("read")).toFixed(0)} ms, rest ${median(of("rest")).toFixed(0)} ms, total ${median(of("total")).toFixed(0)} ms (least ${Math.min(...of("total")).toFixed(0)}); totals ${of(
        "total",
      )
        .map((t) => t.toFixed(0))
        .join(" ")}`,
    );
  }
}
