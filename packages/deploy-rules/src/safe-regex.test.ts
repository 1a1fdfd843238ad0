import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { getPriority } from "node:os";
import { checkSync } from "recheck";
import { describe, expect, it, vi } from "vitest";
import { CHECKER_NICENESS, CheckPool, type Diagnostics } from "./check-pool.js";
import { checkRulePattern, MAX_PATTERN_LENGTH, PRECOMPUTED_SAFE_PATTERNS, RECHECK_PARAMS } from "./safe-regex.js";

describe("checkRulePattern", () => {
  it.each([
    "^(?!backend-1).*$",
    "^my-registry\\/image-for-other-backends:tag.*$",
    "^backend-1.*$",
    ".*",
    "^(api|worker)-[0-9]+$",
  ])("accepts the safe pattern %s", (pattern) => {
    const verdict = checkRulePattern(pattern);
    expect(verdict.ok).toBe(true);
  });

  // Known catastrophic patterns from the ReDoS literature (OWASP's list among them).
  it.each([
    "^(a+)+$",
    "(a|a)*$",
    "^(a|aa)+$",
    "^(.*a){12}$",
    "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
    "(\\w+\\s?)*$",
  ])("refuses the catastrophic pattern %s with a clear reason", (pattern) => {
    const verdict = checkRulePattern(pattern);
    expect(verdict).toMatchObject({ ok: false, code: "UNSAFE_PATTERN" });
    if (!verdict.ok) expect(verdict.message).toMatch(/catastrophic backtracking/);
  });

  it("refuses a catastrophic backreference as exponential: recheck's attack on it stops at its step limit", () => {
    const verdict = checkRulePattern("^(\\w+)(\\s?\\w+)*\\1$");
    expect(verdict).toMatchObject({ ok: false, code: "UNSAFE_PATTERN" });
    if (!verdict.ok) expect(verdict.message).toMatch(/catastrophic backtracking \(exponential/);
  });

  it("refuses cubic backtracking, which the 512-character bound does not make harmless", () => {
    expect(checkRulePattern("^(.*a){3}$")).toMatchObject({ ok: false, code: "UNSAFE_PATTERN" });
  });

  it("gives the same verdict for the seed's lookahead every time (recheck's fuzzer may call it quadratic)", () => {
    for (let i = 0; i < 3; i++) expect(checkRulePattern(`^(?!backend-${i}).*$`).ok).toBe(true);
  });

  it("refuses a pattern that does not compile, quoting the engine's reason", () => {
    expect(checkRulePattern("^(backend")).toEqual({
      ok: false,
      code: "INVALID_PATTERN",
      message: "not a valid JavaScript regular expression: /^(backend/: Unterminated group",
    });
  });

  it("refuses empty and overlong patterns", () => {
    expect(checkRulePattern("")).toMatchObject({ ok: false, code: "INVALID_PATTERN" });
    expect(checkRulePattern("a".repeat(MAX_PATTERN_LENGTH + 1))).toMatchObject({ ok: false, code: "INVALID_PATTERN" });
  });

  it("an accepted pattern never backtracks catastrophically on a hostile input", () => {
    const verdict = checkRulePattern("^(?!backend-1).*$");
    if (!verdict.ok) throw new Error(verdict.message);
    // 100k characters is far beyond any image reference or backend name; linear patterns finish at once.
    expect(verdict.regex.test(`${"a".repeat(100_000)}!`)).toBe(true);
  });
});

describe("loading recheck", () => {
  // A fresh process: recheck (2.9 MB) must not load with deploy-rules, only with the first pattern to check.
  it("is deferred to the first check, and a checker handed over with useSafetyChecker is used instead", () => {
    const script = `
      const rules = await import(${JSON.stringify(new URL("./index.ts", import.meta.url).href)});
      const { createRequire } = await import("node:module");
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes("recheck"));
      const atImport = loaded();
      let calls = 0;
      rules.useSafetyChecker((pattern) => { calls++; return { status: "safe", source: pattern }; });
      const handed = rules.checkRulePattern("^handed-over$").ok;
      console.log(JSON.stringify({ atImport, handed, calls, afterHanded: loaded() }));
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect(JSON.parse(out)).toEqual({ atImport: false, handed: true, calls: 1, afterHanded: false });
  });

  it("requires recheck on the first pattern when nothing was handed over", () => {
    const script = `
      const rules = await import(${JSON.stringify(new URL("./index.ts", import.meta.url).href)});
      const { createRequire } = await import("node:module");
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes("recheck"));
      const verdict = rules.checkRulePattern("^(a+)+$");
      console.log(JSON.stringify({ ok: verdict.ok, loaded: loaded() }));
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      env: { ...process.env, RECHECK_SYNC_BACKEND: "pure" },
    });
    expect(JSON.parse(out)).toEqual({ ok: false, loaded: true });
  });
});

describe("recheck's parameters", () => {
  it("are the same on the synchronous path and for a checker handed over (one-file bundles) as in the checker processes", () => {
    const script = `
      const rules = await import(${JSON.stringify(new URL("./index.ts", import.meta.url).href)});
      const { checkSync } = await import("recheck");
      const seen = [];
      rules.useSafetyChecker((pattern, flags, params) => {
        seen.push(params);
        return checkSync(pattern, flags, params);
      });
      const sync = rules.checkRulePattern("^([a-z]+)-\\\\1$");
      const async = await rules.checkRulePatternAsync("^(?!canary-).*$");
      console.log(JSON.stringify({ seen, ok: [sync.ok, async.ok] }));
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect(JSON.parse(out)).toEqual({ seen: [RECHECK_PARAMS, RECHECK_PARAMS], ok: [true, true] });
  });
});

describe("checkRulePatternAsync", () => {
  const runFresh = (body: string, env: Record<string, string> = {}) => {
    const script = `
      const rules = await import(${JSON.stringify(new URL("./index.ts", import.meta.url).href)});
      const { createRequire } = await import("node:module");
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes("recheck"));
      ${body}
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      env: { ...process.env, ...env },
    });
    return JSON.parse(out);
  };

  it("gives the synchronous check's verdicts while recheck runs in a worker, never on the main thread", () => {
    const result = runFresh(`
      const patterns = ["^backend-1$", "^(?!backend-1).*$", "^(a+)+$", "(\\\\w+\\\\s?)*$", "(unclosed"];
      const verdicts = await Promise.all(patterns.map((p) => rules.checkRulePatternAsync(p)));
      const mainThreadLoaded = loaded();
      // Cached now: the synchronous check is a look-up, still without recheck on this thread.
      const again = patterns.map((p) => rules.checkRulePattern(p).ok);
      await rules.closeSafetyCheckers();
      console.log(JSON.stringify({
        ok: verdicts.map((v) => v.ok),
        codes: verdicts.map((v) => v.ok ? null : v.code),
        again,
        mainThreadLoaded: mainThreadLoaded || loaded(),
      }));
    `);
    expect(result).toEqual({
      ok: [true, true, false, false, false],
      codes: [null, null, "UNSAFE_PATTERN", "UNSAFE_PATTERN", "INVALID_PATTERN"],
      again: [true, true, false, false, false],
      mainThreadLoaded: false,
    });
  });

  it("refuses a pattern whose check overruns the time budget, as unprovable, and keeps checking others", () => {
    // Safe, but with a lookahead: recheck's fuzzer spends tens of milliseconds of CPU time proving it.
    const slow =
      "^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*)(?::[0-9]{1,5})?/(?!internal/)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*:[a-z0-9._-]+$";
    const result = runFresh(`
      // A budget no check can meet (a millisecond of CPU time): the check is stopped and the pattern refused.
      const over = await rules.checkRulePatternAsync(${JSON.stringify(slow)}, { timeoutMs: 1 });
      const next = await rules.checkRulePatternAsync("^after-[a-z]+$");
      // A timeout is not kept as the pattern's verdict: with time enough, recheck's own verdict comes.
      const retried = await rules.checkRulePatternAsync(${JSON.stringify(slow)});
      const unsafe = await rules.checkRulePatternAsync(${JSON.stringify("(\\w+\\s?)*$")});
      await rules.closeSafetyCheckers();
      console.log(JSON.stringify({ over, next: next.ok, retried: retried.ok, unsafe: unsafe.ok || unsafe.message }));
    `);
    expect(result).toEqual({
      over: {
        ok: false,
        code: "UNSAFE_PATTERN",
        message:
          "refused: could not prove the pattern free of catastrophic backtracking (the safety check timed out); simplify it",
      },
      next: true,
      retried: true,
      unsafe: expect.stringContaining("catastrophic backtracking (exponential"),
    });
  });

  /** This process's child processes (started by any of its threads) whose command line names recheck. */
  const checkers = () =>
    readdirSync(`/proc/${process.pid}/task`)
      .flatMap((tid) => readFileSync(`/proc/${process.pid}/task/${tid}/children`, "utf8").trim().split(/\s+/))
      .filter(Boolean)
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("checkSync");
        } catch {
          return false;
        }
      });

  /** A process's descendants (recheck's agent process under a checker), from /proc: children of each of its threads. */
  const descendants = (pid: string): string[] => {
    let threads: string[] = [];
    try {
      threads = readdirSync(`/proc/${pid}/task`);
    } catch {
      return [];
    }
    return threads
      .flatMap((tid) => {
        try {
          return readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/);
        } catch {
          return [];
        }
      })
      .filter(Boolean)
      .flatMap((child) => [child, ...descendants(child)]);
  };
  /** Sends a signal to each process, skipping those already gone. */
  const signal = (pids: string[], name: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(Number(pid), name);
      } catch {}
    }
  };
  /** Whether a process has ended (gone, or a zombie waiting to be reaped). */
  const ended = (pid: string) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? true;
    } catch {
      return true;
    }
  };
  /** Wall time passing while nothing runs: what a check loses on a busy machine, without the noise of a real load. */
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const timedOut = { status: "unknown", error: { kind: "timeout" } };

  it.runIf(process.platform === "linux")(
    "a check's budget is CPU time: a checker stopped for several budgets' worth of wall time still gives a safe pattern its verdict",
    async () => {
      const pool = new CheckPool(1, 60_000);
      try {
        // The first check also starts recheck's worker thread and agent process; the one under test only checks.
        expect((await pool.check("^warm-[a-z]+$", {}, 60_000)).status).toBe("safe");
        const tree = checkers().flatMap((pid) => [pid, ...descendants(pid)]);
        expect(tree.length).toBeGreaterThan(1);
        signal(tree, "SIGSTOP");
        let check: Promise<Diagnostics> | undefined;
        try {
          // 300 ms of CPU time; four times that of wall time passes before the checker may run at all.
          check = pool.check("^(api|worker)-[0-9]+$", {}, 300);
          await pause(1200);
        } finally {
          signal(tree, "SIGCONT");
        }
        expect(await check).toMatchObject({ status: "safe" });
      } finally {
        await pool.close();
      }
    },
    60_000,
  );

  /**
   * Patterns recheck checks with its fuzzer (a lookaround or a backreference), and recheck's verdict on each on an idle
   * machine: the same as with its default wall-clock limits (see RECHECK_PARAMS).
   */
  const FUZZED: [pattern: string, verdict: string][] = [
    ["^(?!backend-1).*$", "safe (fuzz)"],
    [
      "^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*)(?::[0-9]{1,5})?/(?!internal/)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*:[a-z0-9._-]+$",
      "safe (fuzz)",
    ],
    ["^ghcr\\.io/(?!internal/)[a-z0-9-]+/[a-z0-9._-]+:(?!latest$)[a-z0-9._-]+$", "safe (fuzz)"],
    ["^([a-z]+)-\\1$", "safe (fuzz)"],
    ["^(?<env>prod|staging)/app-\\k<env>:[0-9]+$", "safe (fuzz)"],
    ["(?=a)a*b", "2nd degree polynomial (fuzz)"],
    ["(?!x)a*a*a*b", "4th degree polynomial (fuzz)"],
  ];
  const summary = (d: Diagnostics) =>
    d.status === "unknown" ? `unknown: ${d.error.kind}` : `${d.status}: ${d.complexity.summary}`;

  it.runIf(process.platform === "linux")(
    "a starved checker gives each fuzzed pattern the verdict it gets on an idle machine: recheck counts steps, not time",
    async () => {
      // As checkRulePatternAsync runs recheck: its own timeout at the wall-clock limit, the budget CPU time.
      const params = { ...RECHECK_PARAMS, timeout: 120_000 };
      const pool = new CheckPool(1, 60_000);
      try {
        const idle: string[] = [];
        for (const [pattern] of FUZZED) idle.push(summary(await pool.check(pattern, params, 60_000, 120_000)));
        expect(idle).toEqual(
          FUZZED.map(([, verdict]) => `${verdict === "safe (fuzz)" ? "safe" : "vulnerable"}: ${verdict}`),
        );
        const tree = checkers().flatMap((pid) => [pid, ...descendants(pid)]);
        expect(tree.length).toBeGreaterThan(1);
        const starved: string[] = [];
        for (const [pattern] of FUZZED) {
          // The checker and recheck's agent stopped 300 ms in every 305: any run of recheck's VM that takes a few
          // milliseconds of CPU time spans several stops, and a quarter of a second lost in one run was enough, with
          // wall-clock limits, for a safe pattern to be called vulnerable.
          let done = false;
          const check = pool.check(pattern, params, 60_000, 120_000).finally(() => {
            done = true;
          });
          try {
            while (!done) {
              signal(tree, "SIGSTOP");
              await pause(300);
              signal(tree, "SIGCONT");
              await pause(5);
            }
          } finally {
            signal(tree, "SIGCONT");
          }
          starved.push(summary(await check));
        }
        expect(starved).toEqual(idle);
      } finally {
        await pool.close();
      }
    },
    300_000,
  );

  it.runIf(process.platform === "linux")(
    "a check that keeps the CPU busy is still stopped at its CPU budget, recheck's agent process with it",
    async () => {
      const pool = new CheckPool(1, 60_000);
      try {
        // A catastrophic pattern run by the fuzzer without memoization and with no wall-clock limit on its attack:
        // recheck keeps a CPU busy on it until its own timeout (two minutes, past this test's own limit; a bound on
        // what a failed run leaves behind). The relay's wall-clock limit is further still: only the CPU budget can end
        // the check in time.
        const check = pool.check(
          "^(a|a)*$",
          { checker: "fuzz", accelerationMode: "off", attackTimeout: null, timeout: 120_000 },
          300,
          600_000,
        );
        let agents: string[] = [];
        await vi.waitFor(
          () => {
            agents = checkers().flatMap(descendants);
            expect(agents.length).toBeGreaterThan(0);
          },
          { timeout: 30_000, interval: 5 },
        );
        expect(await check).toEqual(timedOut);
        await vi.waitFor(() => expect(checkers()).toEqual([]), { timeout: 30_000, interval: 20 });
        await vi.waitFor(() => expect(agents.filter((pid) => !ended(pid))).toEqual([]), {
          timeout: 30_000,
          interval: 20,
        });
      } finally {
        await pool.close();
      }
    },
    60_000,
  );

  it.runIf(process.platform === "linux")(
    "a checker that never runs is ended at the check's wall-clock limit, and the pattern refused as timed out",
    async () => {
      const pool = new CheckPool(1, 60_000);
      let tree: string[] = [];
      try {
        expect((await pool.check("^warm-[a-z]+$", {}, 60_000)).status).toBe("safe");
        tree = checkers().flatMap((pid) => [pid, ...descendants(pid)]);
        signal(tree, "SIGSTOP");
        // Stopped for good: its CPU time never grows, so only the wall-clock limit (a small one here) ends the check.
        expect(await pool.check("^(api|worker)-[0-9]+$", {}, 300, 1500)).toEqual(timedOut);
        await vi.waitFor(() => expect(checkers()).toEqual([]), { timeout: 30_000, interval: 20 });
      } finally {
        // recheck's agent process, stopped too, ends once it runs again and finds its checker gone.
        signal(tree, "SIGCONT");
        await pool.close();
      }
    },
    60_000,
  );

  it.runIf(process.platform === "linux")(
    "checks in a child process of its own, which ends when idle: nothing of recheck stays in this process",
    async () => {
      const pool = new CheckPool(1, 100);
      try {
        expect(checkers()).toEqual([]);
        expect((await pool.check("^own-process-[a-z]+$", {}, 60_000)).status).toBe("safe");
        expect(checkers()).toHaveLength(1);
        await vi.waitFor(() => expect(pool.workers).toBe(0), { timeout: 5000, interval: 20 });
        await vi.waitFor(() => expect(checkers()).toEqual([]), { timeout: 5000, interval: 20 });
      } finally {
        await pool.close();
      }
    },
  );

  it.runIf(process.platform === "linux")(
    "a checker's environment holds what recheck and glibc read, not the process's secrets",
    async () => {
      process.env.ROLLWAY_TOKENS_TEST_SECRET = "do-not-pass-me-on";
      process.env.RECHECK_TEST_SETTING = "passed";
      const pool = new CheckPool(1, 60_000);
      try {
        expect((await pool.check("^env-[a-z]+$", {}, 60_000)).status).toBe("safe");
        const [pid] = checkers();
        const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
        expect(environ).toContain("RECHECK_TEST_SETTING=passed");
        expect(environ.join("\n")).not.toContain("do-not-pass-me-on");
      } finally {
        delete process.env.ROLLWAY_TOKENS_TEST_SECRET;
        delete process.env.RECHECK_TEST_SETTING;
        await pool.close();
      }
    },
  );

  it.runIf(process.platform === "linux")(
    "a checker runs CHECKER_NICENESS below this process's priority (0: at it), every thread of it and of recheck's agent process; this process's threads keep theirs",
    async () => {
      /** The nice value of each thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
      const niceOf = (pid: string | number) =>
        readdirSync(`/proc/${pid}/task`).map((tid) =>
          Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1]?.split(" ")[16]),
        );
      const own = getPriority();
      const pool = new CheckPool(1, 60_000);
      try {
        expect((await pool.check("^nice-[a-z]+$", {}, 60_000)).status).toBe("safe");
        // CHECKER_NICENESS is 0 (see its comment): the checkers at this process's priority; if it were raised, below.
        const below = Math.min(19, own + CHECKER_NICENESS);
        const [pid] = checkers();
        const threads = niceOf(pid as string);
        expect(threads.length).toBeGreaterThan(1);
        expect(new Set(threads)).toEqual(new Set([below]));
        // recheck's agent process, which does the checking, inherited it from the checker's thread that started it.
        const agents = descendants(pid as string);
        expect(agents.length).toBeGreaterThan(0);
        expect(new Set(agents.flatMap(niceOf))).toEqual(new Set([below]));
        expect(getPriority()).toBe(own);
        // The relay is one thread of this process: all the others (the main thread, V8's and libuv's) are unchanged.
        expect(niceOf(process.pid).filter((nice) => nice !== own)).toEqual(below !== own ? [below] : []);
      } finally {
        await pool.close();
      }
    },
  );

  it.runIf(process.platform === "linux")(
    "the relay's answers come over this process's own socket: a stranger's forged verdict is dropped, and nothing listens after the relay",
    async () => {
      /** This process's listening abstract sockets named for the relay (from /proc/net/unix: state 01, path "@…"). */
      const listening = () =>
        readFileSync("/proc/net/unix", "utf8")
          .split("\n")
          .map((line) => line.trim().split(/\s+/))
          .filter((f) => f[5] === "01" && f[7]?.startsWith(`@rollway-checks-${process.pid}-`))
          .map((f) => f[7] as string);
      const pool = new CheckPool(1, 60_000);
      try {
        const check = pool.check("^(a+)+$", {}, 60_000);
        const [name] = listening();
        expect(name).toBeDefined();
        // Before the relay has started: a stranger connects first and answers check 0 as "safe".
        const stranger = connect(`\0${(name as string).slice(1)}`);
        stranger.on("error", () => {});
        stranger.write(`${"0".repeat(32)}\n${JSON.stringify({ id: 0, diagnostics: { status: "safe" } })}\n`);
        await new Promise((resolve) => stranger.once("close", resolve));
        expect((await check).status).toBe("vulnerable");
        expect(listening()).toEqual([]);
      } finally {
        await pool.close();
      }
    },
  );

  it("close() stops a checker mid-check: the check answers timed out, and no checker is left", async () => {
    const pool = new CheckPool(1, 60_000);
    const check = pool.check("(\\w+\\s?)*$", { timeout: 60_000 }, 60_000);
    await vi.waitFor(() => expect(pool.workers).toBe(1), { timeout: 30_000, interval: 20 });
    await pool.close();
    expect(await check).toEqual({ status: "unknown", error: { kind: "timeout" } });
    if (process.platform === "linux") expect(checkers()).toEqual([]);
  });

  it("ends a worker idle for idleMs, and starts a fresh one for the next pattern", async () => {
    const pool = new CheckPool(1, 100);
    try {
      expect(pool.workers).toBe(0);
      expect((await pool.check("^idle-[a-z]+$", {}, 60_000)).status).toBe("safe");
      expect(pool.workers).toBe(1);
      await vi.waitFor(() => expect(pool.workers).toBe(0), { timeout: 5000, interval: 20 });
      expect((await pool.check("^(a+)+$", {}, 60_000)).status).toBe("vulnerable");
      expect(pool.workers).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it("answers the seed payload's patterns from precomputed verdicts: no recheck, no worker", () => {
    const result = runFresh(`
      const seed = ["^my-registry\\\\/image-for-other-backends:tag.*$", "^(?!backend-1).*$",
        "^my-registry\\\\/image-for-backend-1:tag.*$", "^backend-1.*$"];
      const sync = seed.map((p) => rules.checkRulePattern(p).ok);
      const verdicts = await Promise.all(seed.map((p) => rules.checkRulePatternAsync(p)));
      console.log(JSON.stringify({ sync, async: verdicts.map((v) => v.ok), matches: verdicts[0].regex.test("my-registry/image-for-other-backends:tag"), loaded: loaded() }));
    `);
    expect(result).toEqual({
      sync: [true, true, true, true],
      async: [true, true, true, true],
      matches: true,
      loaded: false,
    });
  });

  it("knownRulePatternVerdict answers only what is known: nothing for a never-seen pattern (no checker run), then the verdict", () => {
    const result = runFresh(`
      const before = rules.knownRulePatternVerdict("^never-seen-[a-z]+$");
      const seed = rules.knownRulePatternVerdict("^backend-1.*$");
      const judged = await rules.checkRulePatternAsync("^never-seen-[a-z]+$");
      const after = rules.knownRulePatternVerdict("^never-seen-[a-z]+$");
      await rules.closeSafetyCheckers();
      console.log(JSON.stringify({ before: before === undefined, seed: seed?.ok, judged: judged.ok, same: after === judged, loaded: loaded() }));
    `);
    expect(result).toEqual({ before: true, seed: true, judged: true, same: true, loaded: false });
  });

  it("warmSafetyCheckers pays the first worker thread's start-up without loading recheck or keeping a worker", () => {
    const result = runFresh(`
      await rules.warmSafetyCheckers();
      const afterWarm = loaded();
      const verdict = await rules.checkRulePatternAsync("^after-warm-[a-z]+$");
      await rules.closeSafetyCheckers();
      console.log(JSON.stringify({ afterWarm, ok: verdict.ok, loaded: loaded() }));
    `);
    expect(result).toEqual({ afterWarm: false, ok: true, loaded: false });
  });

  it("uses a checker handed over with useSafetyChecker (one-file bundles) and starts no worker", () => {
    const result = runFresh(`
      let calls = 0;
      rules.useSafetyChecker((pattern) => { calls++; return { status: "safe", source: pattern }; });
      const verdict = await rules.checkRulePatternAsync("^handed-over-async$");
      console.log(JSON.stringify({ ok: verdict.ok, calls, loaded: loaded() }));
    `);
    expect(result).toEqual({ ok: true, calls: 1, loaded: false });
  });
});

describe("PRECOMPUTED_SAFE_PATTERNS", () => {
  // recheck itself, with a budget no loaded machine overruns: the table must say what recheck says.
  it.each([...PRECOMPUTED_SAFE_PATTERNS])(
    "%s is safe by recheck's own verdict",
    (pattern) => {
      const diagnostics = checkSync(pattern, "", { timeout: 120_000 });
      const quadraticAtMost =
        diagnostics.status === "vulnerable" &&
        diagnostics.complexity.type === "polynomial" &&
        diagnostics.complexity.degree <= 2;
      expect(diagnostics.status === "safe" || quadraticAtMost).toBe(true);
    },
    130_000,
  );
});
