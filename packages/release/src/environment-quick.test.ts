import { readFileSync, writeFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { EnvironmentError, EnvironmentSchema, parseEnvironmentYaml } from "./environment.js";
import { ENVIRONMENT_REFINEMENTS, quickEnvironmentYaml } from "./environment-quick.js";
import { ENVIRONMENT_SHAPE } from "./environment-shape.generated.js";
import { checkShape } from "./shape-check.js";
import { shapeModule, shapeOfZod } from "./shape-of-zod.js";

const demoText = readFileSync(new URL("../examples/demo-environment.yaml", import.meta.url), "utf8");
const demo = parseYaml(demoText) as Record<string, unknown>;
const shapeFile = new URL("./environment-shape.generated.ts", import.meta.url);

/** The full path's answer: the environment, or the error it throws. */
function full(text: string): unknown {
  try {
    return parseEnvironmentYaml(text);
  } catch (error) {
    if (error instanceof EnvironmentError) return error;
    throw error;
  }
}

/** Values near the demo environment: leaves replaced (by near-valid and wrong values), keys removed or added. */
const replacement = fc.constantFrom<unknown>(
  "Rollout",
  "Deployment",
  "blueGreen",
  "canary",
  "rolling",
  "recreate",
  "manual",
  "auto",
  "frontend",
  "backend-1",
  "v1",
  "v3",
  "",
  "UPPER",
  "a".repeat(64),
  "a".repeat(254),
  "repo/image:1.0",
  "repo/image",
  "2.9.1",
  "25%",
  "250%",
  '{ "sc.production": true }',
  '{ "sc.production": false }',
  "{",
  "é😀",
  0,
  1,
  -1,
  1.5,
  100,
  101,
  2 ** 53,
  true,
  false,
  null,
  [],
  {},
  [{ setWeight: 10 }],
  [{ pause: {} }],
  { v1: "{}" },
  { type: "rolling" },
  { type: "recreate" },
  { current: "v1", next: "v1", configs: [{ v1: '{ "sc.production": true }' }] },
);
const mutation = fc.record({
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 7 }),
  action: fc.constantFrom("set", "delete", "add"),
  value: replacement,
  key: fc.constantFrom("extra", "type", "name", "oConfig", "steps", "platform", "hooks", "backend-9", "Bad_Name"),
});
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(root: unknown, m: Mutation): unknown {
  const copy = structuredClone(root);
  let node = copy as Record<string, unknown>;
  for (let i = 0; i < m.path.length; i++) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[(m.path[i] as number) % keys.length] as string;
    const child = node[key];
    const last = i === m.path.length - 1 || typeof child !== "object" || child === null;
    if (last) {
      if (m.action === "delete") delete node[key];
      else if (m.action === "set") node[key] = structuredClone(m.value);
      else if (typeof child === "object" && child !== null && !Array.isArray(child))
        (child as Record<string, unknown>)[m.key] = structuredClone(m.value);
      else node[m.key] = structuredClone(m.value);
      break;
    }
    node = child as Record<string, unknown>;
  }
  return copy;
}

describe("the environment schema's shape (checked without zod)", () => {
  it("is the one the zod schema gives (run `pnpm schema` to update the committed file)", () => {
    const shape = shapeOfZod(EnvironmentSchema, ENVIRONMENT_REFINEMENTS);
    if (process.env.UPDATE_SCHEMA) {
      writeFileSync(
        shapeFile,
        shapeModule(
          shape,
          "ENVIRONMENT_SHAPE",
          "Generated from EnvironmentSchema (environment.ts) by shape-of-zod.ts: `pnpm schema` rewrites it.",
        ),
      );
    }
    expect(ENVIRONMENT_SHAPE).toEqual(shape);
  });

  it("accepts the demo environment, with the output zod gives (defaults filled in)", () => {
    const parsed = EnvironmentSchema.safeParse(demo);
    expect(parsed.success).toBe(true);
    const quick = checkShape(ENVIRONMENT_SHAPE, demo, ENVIRONMENT_REFINEMENTS);
    expect(isDeepStrictEqual(quick, parsed.data)).toBe(true);
  });

  it("accepts a value only when zod does, and gives what zod gives (property)", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const value = mutations.reduce<unknown>(mutate, demo);
        const quick = checkShape(ENVIRONMENT_SHAPE, value, ENVIRONMENT_REFINEMENTS);
        if (quick === undefined) return;
        accepted++;
        const parsed = EnvironmentSchema.safeParse(value, { jitless: true });
        expect(parsed.success, JSON.stringify(value)).toBe(true);
        expect(isDeepStrictEqual(quick, parsed.data), JSON.stringify(value)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    // The property says something only if many mutated values are accepted (e.g. a changed name, a removed default).
    expect(accepted).toBeGreaterThan(100);
  });
});

describe("quickEnvironmentYaml", () => {
  it("reads the demo environment file as parseEnvironmentYaml does", () => {
    const quick = quickEnvironmentYaml(demoText);
    expect(quick).toBeDefined();
    expect(isDeepStrictEqual(quick, parseEnvironmentYaml(demoText))).toBe(true);
  });

  it.each([
    [
      "a strategy its workload cannot run",
      (t: string) => t.replace("kind: Rollout, name: backend-2", "kind: Deployment, name: backend-2"),
    ],
    [
      "an oConfig without production mode",
      (t: string) => t.replace('"sc.production": true }', '"sc.production": false }'),
    ],
    ["an oConfig whose next version is not defined", (t: string) => t.replace('next: "v2"', 'next: "v3"')],
    ["an oConfig version defined twice", (t: string) => t.replace("- v2: |", "- v1: |")],
    ["two components on one workload", (t: string) => t.replace("name: backend-3 }", "name: backend-2 }")],
    ["an unknown key", (t: string) => t.replace("noDowntime: true", "noDowntime: true\nnoDowntim: true")],
  ])("leaves a file with %s to parseEnvironmentYaml, which refuses it", (_, edit) => {
    const text = edit(demoText);
    expect(text).not.toBe(demoText);
    expect(quickEnvironmentYaml(text)).toBeUndefined();
    expect(full(text)).toBeInstanceOf(EnvironmentError);
  });

  it("gives what parseEnvironmentYaml gives, for every file it reads (property)", () => {
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.constantFrom("block", "any", "flow"),
        (mutations, collectionStyle) => {
          const text = stringify(mutations.reduce<unknown>(mutate, demo), {
            collectionStyle: collectionStyle as "block" | "any" | "flow",
          });
          const quick = quickEnvironmentYaml(text);
          if (quick === undefined) return;
          expect(isDeepStrictEqual(quick, full(text)), text).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
