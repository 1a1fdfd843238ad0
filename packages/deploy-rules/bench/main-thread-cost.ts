/**
 * What checkRulePatternAsync costs the calling thread, synchronously: the call until it returns its promise, with a
 * cold pool (it spawns the worker then) and with a warm one (a message), 5 times each, the pool closed in between.
 * recheck itself never runs on this thread; this is the main-thread share of a check of a never-seen pattern.
 * Run: `node --import tsx bench/main-thread-cost.ts`.
 */
import { checkRulePatternAsync, closeSafetyCheckers } from "../src/index.js";

const cold: number[] = [];
const warm: number[] = [];
for (let i = 0; i < 5; i++) {
  let t = performance.now();
  const first = checkRulePatternAsync(`^cold-${i}-[a-z]+$`);
  cold.push(performance.now() - t);
  await first;
  t = performance.now();
  const second = checkRulePatternAsync(`^warm-${i}-[a-z]+$`);
  warm.push(performance.now() - t);
  await second;
  await closeSafetyCheckers();
}
const fmt = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)} ms`;
console.log(`synchronous cost on the calling thread: cold pool (spawns a worker) ${fmt(cold)}; warm ${fmt(warm)}`);
