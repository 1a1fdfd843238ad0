/**
 * recheck's verdicts with its default wall-clock phase limits (`{ timeout }` alone, as before) and with
 * RECHECK_PARAMS (steps only), side by side for a corpus of patterns, with the CPU time of recheck's agent process for
 * each check (from /proc: load-independent), and the steps a second of CPU time its VM runs when it cannot memoize
 * (the attack on a catastrophic backreference, at two step limits). Linux, recheck's native agent (or whichever backend
 * RECHECK_BACKEND names that runs in an agent process). Run: `node --import tsx bench/recheck-steps.ts`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type * as Recheck from "recheck";
import { RECHECK_PARAMS } from "../src/safe-regex.js";

const { check } = createRequire(import.meta.url)("recheck") as typeof Recheck;

const pc = "[a-z0-9]+(?:(?:[_.]|__|[-]+)[a-z0-9]+)*";
const domain = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const host = `(?:${domain}(?:\\.${domain})*|\\[[a-fA-F0-9:]+\\])`;
const CORPUS = [
  // The tests' safe, precomputed and catastrophic patterns.
  "^(?!backend-1).*$",
  "^my-registry\\/image-for-other-backends:tag.*$",
  "^my-registry/image-for-other-backends:tag.*$",
  "^my-registry\\/image-for-backend-1:tag.*$",
  "^my-registry/image-for-backend-1:tag.*$",
  "^backend-1.*$",
  ".*",
  "^(api|worker)-[0-9]+$",
  "^(a+)+$",
  "(a|a)*$",
  "^(a|aa)+$",
  "^(.*a){12}$",
  "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
  "(\\w+\\s?)*$",
  "^(.*a){3}$",
  "^registry\\.example\\.com:5000/team/api@sha256:a+$",
  // The webhook server's bench/pattern-lag.ts (one safe, one catastrophic).
  "(\\w+\\s?)*x0$",
  "^my-registry\\/image-x-1:(v|release-)[0-9]+(\\.[0-9]+)*$",
  // payload-schema's image reference grammar (too many repeats for the automaton checker: fuzzed).
  `^(?:(${host}(?::[0-9]+)?)/)?(${pc}(?:/${pc})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
  // Fuzzed: lookarounds and backreferences, safe, polynomial and catastrophic.
  "^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*)(?::[0-9]{1,5})?/(?!internal/)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*:[a-z0-9._-]+$",
  "^ghcr\\.io/(?!internal/)[a-z0-9-]+/[a-z0-9._-]+:(?!latest$)[a-z0-9._-]+$",
  "^(?:[a-z0-9-]+\\.)+(?!example\\.com)[a-z]{2,}/[a-z0-9/_-]+:v[0-9]+(?:\\.[0-9]+){0,2}$",
  "^(?=.*prod)[a-z0-9-]+$",
  "^(?!.*-canary$)backend-[0-9]+$",
  "^(?:(?!-{2})[a-z0-9-])+$",
  "^(?=.*-v[0-9]+$)(.*)-(.*)-(.*)$",
  "^(?=a*)a*b$",
  "^([a-z]+)-\\1$",
  "^(?<env>prod|staging)/app-\\k<env>:[0-9]+$",
  "^(?=(a+))a*b\\1$",
  "(?=a)a*b",
  "^(?=a)a*a*b$",
  "(?!x)a*a*a*b",
  "^(a|a)*\\1$",
  "^(\\w+)(\\s?\\w+)*\\1$",
  "^(a+)+\\1$",
];

/** This process's child processes: recheck's agent, once started. */
const children = () =>
  readdirSync(`/proc/${process.pid}/task`)
    .flatMap((tid) => readFileSync(`/proc/${process.pid}/task/${tid}/children`, "utf8").trim().split(/\s+/))
    .filter(Boolean);
/** A process's CPU time (utime + stime, fields 14 and 15 of /proc/<pid>/stat), in milliseconds (100 ticks a second). */
const cpuMs = (pid: string) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
const verdict = (d: Recheck.Diagnostics) =>
  d.status === "unknown" ? `unknown (${d.error.kind})` : `${d.status}: ${d.complexity.summary}`;

await check("^warm$", "", {});
const [agent] = children();
if (!agent) throw new Error("recheck runs in no agent process here: set RECHECK_BACKEND=native (or java)");
async function run(pattern: string, params: Recheck.Parameters) {
  const before = cpuMs(agent as string);
  const diagnostics = await check(pattern, "", params);
  return { verdict: verdict(diagnostics), cpuMs: cpuMs(agent as string) - before };
}

const wallClock = { timeout: RECHECK_PARAMS.timeout };
let differ = 0;
console.log("old (wall-clock phase limits) | new (RECHECK_PARAMS) | agent CPU ms old/new | pattern");
for (const pattern of CORPUS) {
  const old = await run(pattern, wallClock);
  const now = await run(pattern, RECHECK_PARAMS);
  if (old.verdict !== now.verdict) differ++;
  console.log(
    `${old.verdict === now.verdict ? " " : "!"} ${old.verdict} | ${now.verdict} | ${old.cpuMs}/${now.cpuMs} | ${pattern.slice(0, 70)}`,
  );
}
console.log(`${CORPUS.length} patterns, ${differ} verdicts differ`);

for (const attackLimit of [1e6, 1e7]) {
  const { verdict: v, cpuMs: ms } = await run("^(\\w+)(\\s?\\w+)*\\1$", {
    ...RECHECK_PARAMS,
    attackLimit,
    timeout: 60_000,
  });
  console.log(
    `attackLimit ${attackLimit.toExponential()}: ${v} in ${ms} ms of CPU time (${Math.round(attackLimit / (ms / 1000)).toLocaleString("en")} steps/s, whole check)`,
  );
}
process.exit(0);
