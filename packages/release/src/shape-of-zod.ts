/**
 * Writes a zod schema down as a `Shape` (see `shape-check.ts`), as the source of a TypeScript module: the environment
 * schema's shape is generated from the zod schema, and a test keeps the committed file equal to what this gives. Only
 * what rollway's schemas use is translated; anything else (a transform, a pipe, a check it does not know) throws, so a
 * schema change that the shape could not follow fails the test instead of being checked less.
 */
import { isDeepStrictEqual } from "node:util";
import type { z } from "zod";
import type { Shape, ShapeCheck } from "./shape-check.js";

type AnyZod = z.core.$ZodType;

const def = (schema: AnyZod) => schema._zod.def as unknown as Record<string, unknown> & { type: string };

function checksOf(schema: AnyZod, refinements: ReadonlyMap<unknown, string>): ShapeCheck[] {
  const out: ShapeCheck[] = [];
  for (const check of (def(schema).checks ?? []) as z.core.$ZodCheck[]) {
    const c = check._zod.def as unknown as Record<string, unknown> & { check: string };
    if (c.when !== undefined && c.check !== "max_length" && c.check !== "min_length")
      throw new Error(`a conditional ${c.check} check cannot be written down`);
    if (c.check === "max_length") out.push({ kind: "max_length", n: Number(c.maximum) });
    else if (c.check === "min_length") out.push({ kind: "min_length", n: Number(c.minimum) });
    else if (c.check === "string_format" && c.format === "regex" && c.pattern instanceof RegExp)
      out.push({ kind: "regex", pattern: c.pattern });
    else if (c.check === "number_format" && c.format === "safeint") out.push({ kind: "safeint" });
    else if ((c.check === "greater_than" || c.check === "less_than") && typeof c.value === "number")
      out.push({ kind: c.check, value: c.value, inclusive: c.inclusive === true });
    else if (c.check === "custom") {
      const name = refinements.get(c.fn);
      if (!name) throw new Error("a .refine() whose predicate is not among the named refinements");
      out.push({ kind: "refine", name });
    } else throw new Error(`the check ${c.check}${c.format ? ` (${String(c.format)})` : ""} cannot be written down`);
  }
  return out;
}

/** A default value as JSON, refusing one that JSON would change (a Date, undefined, a function...). */
function jsonValue(value: unknown): unknown {
  const text = JSON.stringify(value);
  if (text === undefined || !isDeepStrictEqual(JSON.parse(text), value))
    throw new Error("a default that is not plain JSON");
  return JSON.parse(text);
}

/** An object field must be required, optional or defaulted: other mixes (an optional union...) are not translated. */
function checkField(key: string, field: AnyZod): void {
  const d = def(field);
  if (d.type === "optional") {
    if ((d.innerType as AnyZod)._zod.optin !== undefined) throw new Error(`${key}: an optional around a default`);
  } else if (d.type !== "default" && field._zod.optin !== undefined) {
    throw new Error(`${key}: optional in a way that cannot be written down`);
  }
}

function shapeOf(schema: AnyZod, refinements: ReadonlyMap<unknown, string>, seen: Map<AnyZod, Shape>): Shape {
  const known = seen.get(schema);
  if (known) return known;
  const d = def(schema);
  const checks = checksOf(schema, refinements);
  const of = (s: unknown) => shapeOf(s as AnyZod, refinements, seen);
  let shape: Shape;
  switch (d.type) {
    case "string":
    case "number":
    case "boolean":
    case "unknown":
      if (d.coerce) throw new Error("a coercing schema");
      shape = { type: d.type };
      break;
    case "literal":
    case "enum":
      shape = { type: "literal", values: jsonValue([...(schema._zod.values ?? [])]) as unknown[] };
      break;
    case "object": {
      const catchall = d.catchall as AnyZod | undefined;
      const unknownKeys = !catchall
        ? "strip"
        : def(catchall).type === "never"
          ? "strict"
          : def(catchall).type === "unknown" && !def(catchall).checks
            ? "loose"
            : undefined;
      if (!unknownKeys) throw new Error(`an object whose other keys are ${def(catchall as AnyZod).type}`);
      const fields: Record<string, Shape> = {};
      for (const [key, field] of Object.entries(d.shape as Record<string, AnyZod>)) {
        checkField(key, field);
        fields[key] = of(field);
      }
      shape = { type: "object", unknownKeys, shape: fields };
      break;
    }
    case "array":
      shape = { type: "array", element: of(d.element) };
      break;
    case "record":
      if (d.mode === "loose" || d.partial || (d.keyType as AnyZod)._zod.values)
        throw new Error("a record other than string keys to values");
      shape = { type: "record", key: of(d.keyType), value: of(d.valueType) };
      break;
    case "union": {
      const options = d.options as AnyZod[];
      // A discriminated union is exclusive too (`inclusive: false`); another exclusive union (z.xor) is not written.
      if (typeof d.discriminator !== "string" && d.inclusive === false) throw new Error("an exclusive union");
      if (d.unionFallback) throw new Error("a discriminated union with a fallback");
      if (typeof d.discriminator === "string") {
        // Told apart by the discriminator's literal: then the first option that accepts is the one zod picks.
        const values = new Set<unknown>();
        for (const option of options) {
          const field = (def(option).shape as Record<string, AnyZod> | undefined)?.[d.discriminator];
          if (!field || def(field).type !== "literal") throw new Error("a discriminator that is not a literal");
          for (const v of field._zod.values ?? []) {
            if (values.has(v)) throw new Error(`two options share the discriminator ${String(v)}`);
            values.add(v);
          }
        }
      }
      shape = { type: "union", options: options.map(of) };
      break;
    }
    case "optional":
      shape = { type: "optional", inner: of(d.innerType) };
      break;
    case "default":
      shape = { type: "default", value: jsonValue(d.defaultValue), inner: of(d.innerType) };
      break;
    default:
      throw new Error(`a ${d.type} schema cannot be written down`);
  }
  if (checks.length > 0) shape.checks = checks;
  seen.set(schema, shape);
  return shape;
}

/** The `Shape` of `schema`; `refinements` names each `.refine()` predicate it uses. */
export function shapeOfZod(schema: AnyZod, refinements: Record<string, unknown>): Shape {
  return shapeOf(schema, new Map(Object.entries(refinements).map(([name, fn]) => [fn, name])), new Map());
}

/**
 * A TypeScript module exporting `shape` as `name`; biome formats it afterwards. A shape written the same way in several
 * places (one zod schema used twice, or equal ones: each `label()` or `.meta()` makes a new schema) is written once,
 * as a constant, unless it is short.
 */
export function shapeModule(shape: Shape, name: string, header: string): string {
  // Each shape's text with nothing hoisted, to find the equal ones; then how often each text is used.
  const texts = new Map<Shape, string>();
  const textOf = (s: Shape): string => {
    let text = texts.get(s);
    if (text === undefined) {
      text = shapeText(s, textOf);
      texts.set(s, text);
    }
    return text;
  };
  const uses = new Map<string, number>();
  const count = (s: Shape) => {
    const text = textOf(s);
    uses.set(text, (uses.get(text) ?? 0) + 1);
    for (const child of childrenOf(s)) count(child);
  };
  count(shape);
  const constants: string[] = [];
  const names = new Map<string, string>();
  const write = (s: Shape): string => {
    const whole = textOf(s);
    const known = names.get(whole);
    if (known) return known;
    const text = shapeText(s, write);
    if ((uses.get(whole) ?? 0) < 2 || whole.length < SHORTEST_CONSTANT) return text;
    const constant = `s${constants.length}`;
    constants.push(`const ${constant}: Shape = ${text};`);
    names.set(whole, constant);
    return constant;
  };
  const root = write(shape);
  return [
    `// ${header}`,
    'import type { Shape } from "./shape-check.js";',
    "",
    ...constants,
    "",
    `export const ${name}: Shape = ${root};`,
    "",
  ].join("\n");
}

/** Shapes whose text is shorter than this are written where they are used, even when used again elsewhere. */
const SHORTEST_CONSTANT = 60;

/** The source text of `s`, each child written by `child`. */
function shapeText(s: Shape, child: (s: Shape) => string): string {
  const fields = Object.entries(s).map(([key, value]) => {
    if (key === "checks")
      return `checks: [${(value as ShapeCheck[])
        .map(
          (c) =>
            `{ ${Object.entries(c)
              .map(([k, v]) => `${k}: ${v instanceof RegExp ? v.toString() : JSON.stringify(v)}`)
              .join(", ")} }`,
        )
        .join(", ")}]`;
    if (key === "shape")
      return `shape: { ${Object.entries(value as Record<string, Shape>)
        .map(([k, v]) => `${JSON.stringify(k)}: ${child(v)}`)
        .join(", ")} }`;
    if (key === "options") return `options: [${(value as Shape[]).map(child).join(", ")}]`;
    if (key === "element" || key === "key" || key === "inner" || (key === "value" && s.type === "record"))
      return `${key}: ${child(value as Shape)}`;
    return `${key}: ${JSON.stringify(value)}`;
  });
  return `{ ${fields.join(", ")} }`;
}

function childrenOf(s: Shape): Shape[] {
  switch (s.type) {
    case "object":
      return Object.values(s.shape);
    case "array":
      return [s.element];
    case "record":
      return [s.key, s.value];
    case "union":
      return [...s.options];
    case "optional":
    case "default":
      return [s.inner];
    default:
      return [];
  }
}
