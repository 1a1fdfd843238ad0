/**
 * Event-loop lag while 100 never-seen rule patterns are checked, side by side: the synchronous check on the main
 * thread (checkRulePattern, the baseline) and checkRulePatternAsync (recheck in a worker pool). Each mode runs in its
 * own fresh process (nothing cached, recheck not loaded), after an idle run that shows the machine's own timer noise; a 1 ms interval timer records how late it fires (the
 * longest time the event loop was blocked) and perf_hooks' event-loop delay histogram gives the p99.
 * Goal: no pattern check blocks the event loop for more than 20 ms. Run: `node --import tsx bench/pattern-lag.ts`.
 */
import { execFileSync } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

/** 100 distinct patterns like the ones CI posts, with a few catastrophic ones among them (`(\w+\s?)*$` included). */
function patterns(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 100; i++) {
    if (i % 10 === 0) out.push(`(\\w+\\s?)*${i}$`);
    else if (i % 10 === 5) out.push(`^(?!backend-${i}).*$`);
    else out.push(`^my-registry\\/image-for-backend-${i}:(v|release-)[0-9]+(\\.[0-9]+)*$`);
  }
  return out;
}

async function measure(mode: "idle" | "sync" | "async"): Promise<void> {
  const rules = await import("../src/index.js");
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let worst = 0;
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  histogram.enable();
  await new Promise((r) => setTimeout(r, 50));
  const started = performance.now();
  let refused = 0;
  if (mode === "idle") {
    // The machine's own noise: the same timer with nothing checked, for as long as a short async run.
    await new Promise((r) => setTimeout(r, 5000));
  } else if (mode === "sync") {
    for (const p of patterns()) {
      if (!rules.checkRulePattern(p).ok) refused++;
      // Let the timer run between checks, as a server does between requests.
      await new Promise((r) => setImmediate(r));
    }
  } else {
    const verdicts = await Promise.all(patterns().map((p) => rules.checkRulePatternAsync(p)));
    refused = verdicts.filter((v) => !v.ok).length;
  }
  const total = performance.now() - started;
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(tick);
  histogram.disable();
  await rules.closeSafetyCheckers();
  console.log(
    JSON.stringify({
      mode,
      totalMs: Math.round(total),
      worstBlockMs: Math.round(worst),
      p99DelayMs: Math.round(histogram.percentile(99) / 1e6),
      refused,
    }),
  );
}

const mode = process.argv[2];
if (mode === "idle" || mode === "sync" || mode === "async") {
  await measure(mode);
} else {
  const self = fileURLToPath(import.meta.url);
  console.log(`event-loop lag while 100 new patterns are checked (Node ${process.version}, fresh process each):`);
  const label = {
    idle: "nothing checked (the machine's noise)  ",
    sync: "checkRulePattern (main thread, baseline)",
    async: "checkRulePatternAsync (worker pool)     ",
  };
  for (const m of ["idle", "sync", "async"] as const) {
    const out = execFileSync(process.execPath, ["--import", "tsx", self, m], { encoding: "utf8" }).trim();
    const r = JSON.parse(out) as { totalMs: number; worstBlockMs: number; p99DelayMs: number; refused: number };
    console.log(
      `  ${label[m]}: longest block ${r.worstBlockMs} ms, p99 delay ${r.p99DelayMs} ms, all 100 in ${r.totalMs} ms, ${r.refused} refused`,
    );
  }
}
