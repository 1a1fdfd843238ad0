/**
 * The cache of validated environment files (`environment-cache.ts`), through the built binary against `rollway sim`:
 * a file validated once is read back without loading the schema; a bad file is never kept and always refused with
 * the same error; an edit is validated again; an unwritable cache or concurrent first runs change nothing users see.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseEnvironmentYaml } from "@rollway/release";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, rollway, rollwayAsync, type SimProcess, startSimProcess } from "./test-helpers/run-cli.js";

let sim: SimProcess;
let dir: string;
let hook: string;
beforeAll(async () => {
  sim = await startSimProcess();
  dir = mkdtempSync(join(tmpdir(), "rollway-env-cache-"));
  // A module hook that names every file of the bundle the command loads (on stderr), to see what a run evaluated. The
  // hook runs on the loader's own thread, whose process.stderr is relayed to the main thread later: a command that
  // exits at once (a refused file, exit 2) could end before the last lines were relayed (seen on Node 24). Written
  // straight to the file descriptor, each line is out before the module is.
  writeFileSync(
    join(dir, "hook.mjs"),
    `import { writeSync } from "node:fs";\nexport async function load(url, context, next) { if (url.includes("/dist/")) writeSync(2, "LOADED " + url + "\\n"); return next(url, context); }\n`,
  );
  hook = join(dir, "register.mjs");
  writeFileSync(
    hook,
    `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(join(dir, "hook.mjs")).href)});\n`,
  );
});
afterAll(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh cache folder and a copy of the sim's environment file (with `edit` applied) for one test. */
function fresh(edit: (text: string) => string = (t) => t) {
  n++;
  const cache = join(dir, `cache-${n}`);
  const file = join(dir, `environment-${n}.yaml`);
  writeFileSync(file, edit(readFileSync(sim.environment, "utf8")));
  const env = { ...sim.env, ROLLWAY_ENV: file, ROLLWAY_CACHE_DIR: cache };
  const entries = () => {
    try {
      return readdirSync(join(cache, "environments"));
    } catch {
      return [];
    }
  };
  return { cache, file, env, entries };
}

/** The bundle files a run loaded, from the hook's lines. */
const loadedFiles = (r: CliResult) =>
  [...r.stderr.matchAll(/^LOADED file:\/\/(.+)$/gm)].map((m) => decodeURI(m[1] as string));
const loadsTheSchema = (r: CliResult) =>
  loadedFiles(r).some((f) => readFileSync(f, "utf8").includes("function parseEnvironmentYaml("));
/** The YAML parser (`yaml`). */
const loadsYaml = (r: CliResult) =>
  loadedFiles(r).some((f) => readFileSync(f, "utf8").includes("function parseDocument("));
/** zod itself (any schema, not only the environment's). */
const loadsZod = (r: CliResult) => loadedFiles(r).some((f) => readFileSync(f, "utf8").includes('"$ZodType"'));
/** The file was validated: by the quick read (plain YAML, the schema's generated shape) or by the parser and zod. */
const validates = (r: CliResult) =>
  loadsTheSchema(r) || loadedFiles(r).some((f) => readFileSync(f, "utf8").includes("function quickEnvironmentYaml("));

const BAD_STRATEGY = (t: string) =>
  t.replace(
    "strategy: { type: blueGreen, activeService: backend-3",
    "strategy: { type: blueGren, activeService: backend-3",
  );

describe("the cache of validated environment files", () => {
  it("status validates a file once: the next run reads it back without validating, and prints the same", () => {
    const t = fresh();
    const first = rollway(["status", "--json"], { env: { ...t.env, NODE_OPTIONS: `--import=${hook}` } });
    expect(first.code, first.stderr).toBe(0);
    expect(validates(first)).toBe(true);
    expect(t.entries()).toHaveLength(1);
    const second = rollway(["status", "--json"], { env: { ...t.env, NODE_OPTIONS: `--import=${hook}` } });
    expect(second.code, second.stderr).toBe(0);
    expect(validates(second)).toBe(false);
    // The sim's kubeconfig is plain YAML too: read without the YAML parser.
    expect(loadsYaml(second)).toBe(false);
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout));
    expect(t.entries()).toHaveLength(1);
  });

  it("a file that fails validation is never kept: refused with the same error, line and column, on every run", () => {
    const t = fresh(BAD_STRATEGY);
    const runs = [1, 2].map(() => rollway(["status"], { env: t.env }));
    for (const r of runs) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${t.file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+`));
      expect(r.stderr).toContain("backends.backend-3.strategy");
    }
    expect(runs[1]?.stderr).toBe(runs[0]?.stderr);
    expect(t.entries()).toEqual([]);
  });

  it("an edited file is validated again: a mistake made after a good run is refused, and the good text is read back again", () => {
    const t = fresh();
    const good = readFileSync(t.file, "utf8");
    expect(rollway(["status", "--json"], { env: t.env }).code).toBe(0);
    writeFileSync(t.file, BAD_STRATEGY(good));
    const bad = rollway(["status", "--json"], { env: t.env });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain("backends.backend-3.strategy");
    writeFileSync(t.file, good);
    const again = rollway(["status", "--json"], { env: { ...t.env, NODE_OPTIONS: `--import=${hook}` } });
    expect(again.code, again.stderr).toBe(0);
    expect(validates(again)).toBe(false);
    expect(t.entries()).toHaveLength(1);
  });

  it("an entry is trusted only for the exact text it was kept for: a forged or mismatched entry means validating again", () => {
    const t = fresh();
    expect(rollway(["status", "--json"], { env: t.env }).code).toBe(0);
    const [name] = t.entries();
    const file = join(t.cache, "environments", name as string);
    const entry = JSON.parse(readFileSync(file, "utf8"));
    expect(entry.source).toBe(readFileSync(t.file, "utf8"));
    // Same name, another text (as two texts whose quick hashes collide): not read back, the file is validated.
    writeFileSync(file, JSON.stringify({ ...entry, source: `${entry.source}\n# another text\n` }));
    const r = rollway(["status", "--json"], { env: { ...t.env, NODE_OPTIONS: `--import=${hook}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(validates(r)).toBe(true);
    expect(JSON.parse(readFileSync(file, "utf8")).source).toBe(entry.source);
  });

  it("a cache folder that cannot be made (under a file, as a read-only home) only means validating every time", () => {
    const t = fresh();
    writeFileSync(t.cache, "not a folder");
    const env = { ...t.env, NODE_OPTIONS: `--import=${hook}` };
    const runs = [1, 2].map(() => rollway(["status", "--json"], { env }));
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(validates(r)).toBe(true);
    }
    expect(JSON.parse(runs[1]?.stdout ?? "")).toEqual(JSON.parse(runs[0]?.stdout ?? ""));
  });

  it("a first run on a plain, valid file validates it without the YAML parser and zod, and keeps what they would give", () => {
    const t = fresh();
    const r = rollway(["status", "--json"], { env: { ...t.env, NODE_OPTIONS: `--import=${hook}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(validates(r)).toBe(true);
    expect(loadsTheSchema(r)).toBe(false);
    expect(loadsZod(r)).toBe(false);
    expect(loadsYaml(r)).toBe(false);
    const entry = JSON.parse(readFileSync(join(t.cache, "environments", t.entries()[0] as string), "utf8"));
    expect(entry.environment).toEqual(parseEnvironmentYaml(readFileSync(t.file, "utf8")));
  });

  it("a first run on a file with a problem loads the parser and zod, which say what is wrong, and keeps nothing", () => {
    const t = fresh(BAD_STRATEGY);
    const r = rollway(["status", "--json"], { env: { ...t.env, NODE_OPTIONS: `--import=${hook}` } });
    expect(r.code).toBe(2);
    expect(loadsTheSchema(r)).toBe(true);
    expect(r.stdout).toContain(
      "backends.backend-3.strategy.type: strategy.type is blueGreen, canary, rolling or recreate",
    );
    expect(t.entries()).toEqual([]);
  });

  it("ROLLWAY_NO_CACHE=1 validates every time and keeps nothing", () => {
    const t = fresh();
    for (let i = 0; i < 2; i++) {
      const r = rollway(["status", "--json"], { env: { ...t.env, ROLLWAY_NO_CACHE: "1" } });
      expect(r.code, r.stderr).toBe(0);
    }
    expect(t.entries()).toEqual([]);
  });

  it("concurrent first runs on one file all succeed and leave one whole entry", async () => {
    const t = fresh();
    const results = await Promise.all([1, 2, 3, 4].map(() => rollwayAsync(["status", "--json"], t.env).done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const outputs = results.map((r) => JSON.parse(r.stdout));
    for (const o of outputs) expect(o).toEqual(outputs[0]);
    expect(t.entries()).toHaveLength(1);
    const entry = JSON.parse(readFileSync(join(t.cache, "environments", t.entries()[0] as string), "utf8"));
    expect(entry.environment.namespace).toBe("demo");
  });

  it("a first run (an empty cache, or none) refuses a bad file with the same problems, lines and columns as ever", () => {
    /** `line:column` (1-based) of the first `needle` in `text`, `shift` characters further. */
    const at = (text: string, needle: string, shift = 0) => {
      const before = text.slice(0, text.indexOf(needle) + shift).split("\n");
      return `${before.length}:${(before.at(-1) ?? "").length + 1}`;
    };
    const cases = [
      (text: string) =>
        BAD_STRATEGY(text).replace("  readyTimeoutSeconds: 300", "  readyTimeoutSeconds: 300\n  modes: auto"),
      (text: string) => text.replace("namespace: demo\n", "").replace("container: frontend", "container: Frontend"),
      (text: string) => text.replace('"param1": "a value"', '"param1": "a value",'),
    ];
    const expected = (file: string, text: string) => [
      [
        `rollway: 2 problems with the environment ${file}:`,
        `  ${file}:${at(text, "modes:")} promotion: unknown key "modes"; did you mean "mode"?`,
        `  ${file}:${at(text, "blueGren")} backends.backend-3.strategy.type: strategy.type is blueGreen, canary, rolling or recreate`,
      ],
      [
        `rollway: 2 problems with the environment ${file}:`,
        `  ${file}:${at(text, "apiVersion:")} namespace: missing`,
        `  ${file}:${at(text, "Frontend")} frontend.container: a container name uses lower-case letters, digits and '-', starting and ending alphanumeric`,
      ],
      [
        `rollway: 1 problem with the environment ${file}:`,
        `  ${file}:${at(text, '"a value",', 9)} backends.backend-1.oConfig.configs[0].v1: version "v1", line 3, column 22 of its JSON: invalid JSON: a trailing comma before '}'; remove it (JSON allows none)`,
      ],
    ];
    cases.forEach((edit, i) => {
      const t = fresh(edit);
      const text = readFileSync(t.file, "utf8");
      for (const env of [t.env, { ...t.env, ROLLWAY_NO_CACHE: "1" }]) {
        const r = rollway(["status"], { env });
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(`${(expected(t.file, text)[i] as string[]).join("\n")}\n`);
      }
      expect(t.entries()).toEqual([]);
    });
  });
});
