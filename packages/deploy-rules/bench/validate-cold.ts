/**
 * Cold validation: compile and ReDoS-check 2,000 distinct patterns (1,000 rules) with nothing cached, the
 * first time a server sees a release this large. Run with `pnpm bench:cold`.
 */
import { checkRulePattern } from "../src/index.js";
import { largeRelease } from "./fixtures.js";

const { rules } = largeRelease(1000);
const started = performance.now();
let slowest = 0;
for (const rule of rules) {
  for (const pattern of [rule.source, rule.target]) {
    const t = performance.now();
    const verdict = checkRulePattern(pattern);
    slowest = Math.max(slowest, performance.now() - t);
    if (!verdict.ok) throw new Error(verdict.message);
  }
}
const total = performance.now() - started;
const t = performance.now();
for (const rule of rules) checkRulePattern(rule.source);
const cached = performance.now() - t;
console.log(
  `cold check of 2,000 patterns: ${total.toFixed(0)} ms (${(total / 2000).toFixed(2)} ms each, slowest ${slowest.toFixed(1)} ms); 1,000 cached look-ups: ${cached.toFixed(2)} ms`,
);
