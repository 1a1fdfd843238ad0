/**
 * The accepting half of a zod schema, run without zod. `shape-of-zod.ts` writes a schema down as plain data (a
 * `Shape`); `checkShape` then accepts a value exactly when zod's `safeParse` would, and returns the same output (defaults
 * filled in, unknown keys of a loose object kept). It never explains a refusal: a value it refuses, or cannot judge
 * for certain (a string with surrogates under a length limit, an object that is not plain), gets `undefined`, and the
 * caller runs zod itself, which says what is wrong and where.
 *
 * Why: a CLI reads its environment file once per process; loading zod and building the schema cost more than the
 * YAML file takes to check (about 25 ms of CPU on Node 24, every first `rollway status` on a file).
 */

/** What zod checks after the type (`.max(63)`, `.regex()`, `.int()`, `.positive()`, `.refine()`...). */
export type ShapeCheck =
  | { kind: "max_length"; n: number }
  | { kind: "min_length"; n: number }
  | { kind: "regex"; pattern: RegExp }
  | { kind: "safeint" }
  | { kind: "greater_than"; value: number; inclusive: boolean }
  | { kind: "less_than"; value: number; inclusive: boolean }
  /** A `.refine()` predicate, by its name in the `refinements` given to `checkShape`. */
  | { kind: "refine"; name: string };

export type Shape = (
  | { type: "string" | "number" | "boolean" | "unknown" }
  | { type: "literal"; values: readonly unknown[] }
  /** strict: unknown keys are refused; loose: kept as they are; strip: dropped. */
  | { type: "object"; shape: { readonly [key: string]: Shape }; unknownKeys: "strict" | "loose" | "strip" }
  | { type: "array"; element: Shape }
  | { type: "record"; key: Shape; value: Shape }
  /** The first option that accepts (a discriminated union's options are told apart by their literal). */
  | { type: "union"; options: readonly Shape[] }
  | { type: "optional"; inner: Shape }
  /** `value` is JSON: copied for each use. */
  | { type: "default"; value: unknown; inner: Shape }
) & { checks?: readonly ShapeCheck[] };

export type Refinements = Readonly<Record<string, (value: never) => unknown>>;

/** A certain refusal: zod refuses this too (so a union can try its next option). */
const NO: unique symbol = Symbol("refused");
/** Not certain: thrown, so that nothing is concluded from this value and zod decides. */
class Unsure extends Error {}

/**
 * `value` as zod's `safeParse(value).data` for the schema `shape` was written from, or `undefined` when zod would
 * refuse it or this cannot tell.
 */
export function checkShape<T>(shape: Shape, value: unknown, refinements: Refinements = {}): T | undefined {
  try {
    const out = run(shape, value, refinements);
    return out === NO ? undefined : (out as T);
  } catch (error) {
    if (error instanceof Unsure) return undefined;
    throw error;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Only objects as a YAML or JSON parser makes them: zod's tests for "an object" differ on anything else. */
function plain(v: Record<string, unknown>): Record<string, unknown> {
  if (Object.getPrototypeOf(v) !== Object.prototype || Object.hasOwn(v, "__proto__")) throw new Unsure();
  return v;
}

function run(shape: Shape, value: unknown, refinements: Refinements): unknown {
  const out = parse(shape, value, refinements);
  if (out === NO || !shape.checks) return out;
  for (const check of shape.checks) if (!passes(check, out, refinements)) return NO;
  return out;
}

function parse(shape: Shape, value: unknown, refinements: Refinements): unknown {
  switch (shape.type) {
    case "string":
      return typeof value === "string" ? value : NO;
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? value : NO;
    case "boolean":
      return typeof value === "boolean" ? value : NO;
    case "unknown":
      return value;
    case "literal":
      return shape.values.includes(value) ? value : NO;
    case "optional":
      return value === undefined ? undefined : run(shape.inner, value, refinements);
    case "default": {
      if (value === undefined) return structuredClone(shape.value);
      const out = run(shape.inner, value, refinements);
      return out === undefined ? structuredClone(shape.value) : out;
    }
    case "union":
      for (const option of shape.options) {
        const out = run(option, value, refinements);
        if (out !== NO) return out;
      }
      return NO;
    case "array": {
      if (!Array.isArray(value)) return NO;
      const out: unknown[] = [];
      for (const item of value) {
        const one = run(shape.element, item, refinements);
        if (one === NO) return NO;
        out.push(one);
      }
      return out;
    }
    case "record": {
      if (!isObject(value)) return NO;
      const input = plain(value);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(input)) {
        // zod retries a refused numeric key as a number, and reports refused keys its own way: let it.
        if (run(shape.key, key, refinements) !== key) throw new Unsure();
        const one = run(shape.value, input[key], refinements);
        if (one === NO) return NO;
        out[key] = one;
      }
      return out;
    }
    case "object": {
      if (!isObject(value)) return NO;
      const input = plain(value);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(shape.shape)) {
        const field = shape.shape[key] as Shape;
        const present = key in input;
        // An inherited key (`constructor`...) is "present" to zod: not a case to judge here.
        if (present !== Object.hasOwn(input, key) || (present && input[key] === undefined)) throw new Unsure();
        if (!present) {
          if (field.type === "optional") continue;
          if (field.type !== "default") return NO;
        }
        const one = run(field, input[key], refinements);
        if (one === NO) return NO;
        out[key] = one;
      }
      if (shape.unknownKeys !== "strip") {
        for (const key in input) {
          if (Object.hasOwn(shape.shape, key)) continue;
          if (shape.unknownKeys === "strict") return NO;
          out[key] = input[key];
        }
      }
      return out;
    }
  }
}

/** The length zod counts (code points): only strings without surrogates are judged here. */
function lengthOf(value: unknown): number {
  if (typeof value === "string") {
    if (/[\uD800-\uDFFF]/.test(value)) throw new Unsure();
    return value.length;
  }
  if (Array.isArray(value)) return value.length;
  throw new Unsure();
}

function passes(check: ShapeCheck, value: unknown, refinements: Refinements): boolean {
  switch (check.kind) {
    case "max_length":
      return lengthOf(value) <= check.n;
    case "min_length":
      return lengthOf(value) >= check.n;
    case "regex":
      check.pattern.lastIndex = 0;
      return typeof value === "string" && check.pattern.test(value);
    case "safeint":
      return Number.isSafeInteger(value);
    case "greater_than":
      return typeof value === "number" && (check.inclusive ? value >= check.value : value > check.value);
    case "less_than":
      return typeof value === "number" && (check.inclusive ? value <= check.value : value < check.value);
    case "refine": {
      const fn = refinements[check.name];
      if (!fn) throw new Unsure();
      return Boolean((fn as (value: unknown) => unknown)(value));
    }
  }
}
