/**
 * `parseDeployPayload`: JSON text or a value in, a typed payload (defaults applied) out, or one PayloadError
 * listing every problem with its path, and with line and column when the payload came as text.
 */

import { checkRulePatternAsync, knownRulePatternVerdict, type PatternVerdict } from "@rollway/deploy-rules";
import { findNodeAtLocation, type Node, type ParseError, parseTree, printParseErrorCode, visit } from "jsonc-parser";
import { LinesAndColumns } from "lines-and-columns";
import { z } from "zod";
import { didYouMean } from "./did-you-mean.js";
import { PayloadError, type PayloadProblem } from "./errors.js";
import { quickDeployPayload } from "./quick-check.js";
import { type DeployPayload, DeployPayloadSchema, withPatternVerdicts } from "./schema.js";

/** Payloads are a few kilobytes; anything this large is a mistake or an attack. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/**
 * A payload nests four levels; recursive parsers and validators overflow the stack on 100,000 (600 KB, under the
 * size limit), so anything deeper than this is refused before any of them runs.
 */
export const MAX_PAYLOAD_DEPTH = 64;

export function parseDeployPayload(input: string | unknown): DeployPayload {
  return validate(read(input));
}

/**
 * parseDeployPayload for servers: the payload's rule patterns never seen before are proven ReDoS-free by recheck in
 * a worker pool (deploy-rules' checkRulePatternAsync), so a new pattern never blocks the event loop; patterns already
 * judged (and the seed's, precomputed) cost a look-up. Same answers and errors as parseDeployPayload.
 */
export async function parseDeployPayloadAsync(input: string | unknown): Promise<DeployPayload> {
  return parseDeployPayloadMaybeAsync(input);
}

/**
 * parseDeployPayloadAsync without a promise where none is needed: when every rule pattern of the payload already has
 * a verdict (the common case: CI posts the same rules on every deploy), the payload at once, or its PayloadError
 * thrown; otherwise a promise, as parseDeployPayloadAsync's. For a server's hot path, where each promise and
 * microtask counts.
 */
export function parseDeployPayloadMaybeAsync(input: string | unknown): DeployPayload | Promise<DeployPayload> {
  const payload = read(input);
  // The schema's own look-ups find the known verdicts; no promise per pattern.
  if (allRulePatternsKnown(payload.value)) return validate(payload);
  return validateJudged(payload);
}

/** Judges the payload's never-seen patterns in the worker pool, then validates with those verdicts. */
async function validateJudged(payload: ReadPayload): Promise<DeployPayload> {
  const patterns = rulePatternsOf(payload.value);
  const verdicts = new Map<string, PatternVerdict>();
  await Promise.all(patterns.map(async (p) => verdicts.set(p, await checkRulePatternAsync(p))));
  return withPatternVerdicts(verdicts, () => validate(payload));
}

interface ReadPayload {
  value: unknown;
  text?: string;
  tree?: Node;
}

/** Size, depth and JSON (duplicate keys refused) of a text payload; a value is taken as it is. */
function read(input: string | unknown): ReadPayload {
  if (typeof input !== "string") return { value: input };
  const text = input;
  // A UTF-16 string never takes fewer bytes in UTF-8 than it has code units: only long texts need counting.
  const bytes = text.length * 3 <= MAX_PAYLOAD_BYTES ? 0 : Buffer.byteLength(text, "utf8");
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new PayloadError("TOO_LARGE", [
      { path: "(payload)", message: `${bytes} bytes; a deploy payload may be at most ${MAX_PAYLOAD_BYTES} bytes` },
    ]);
  }
  const scan = scanText(text);
  if (scan.tooDeepAt !== undefined) {
    throw new PayloadError("TOO_DEEP", [
      {
        path: "(payload)",
        message: `nested more than ${MAX_PAYLOAD_DEPTH} levels deep; a deploy payload nests 4`,
        ...position(text, scan.tooDeepAt),
      },
    ]);
  }
  // Fast path for the common case (valid JSON, no duplicate keys): the native parser and a count of the
  // properties; the positional parser runs only when there is something to point at.
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const tree = parseJsonText(text);
    return { value: JSON.parse(text), text, tree };
  }
  if (scan.colons === countProperties(value)) return { value, text };
  return { value, text, tree: parseJsonText(text) };
}

function validate({ value, text, tree }: ReadPayload): DeployPayload {
  // A value JSON.parse gave (plain objects and arrays only): when certainly valid, checked without zod.
  const quick = text !== undefined ? quickDeployPayload(value) : undefined;
  if (quick) return quick;
  const result = DeployPayloadSchema.safeParse(value);
  if (result.success) return result.data;
  const located = text !== undefined ? (tree ?? parseJsonText(text)) : undefined;
  const problems = result.error.issues.flatMap((issue) => toProblems(issue, value));
  if (text !== undefined && located) for (const p of problems) locate(p, located, text);
  throw new PayloadError("INVALID_PAYLOAD", problems, { cause: result.error });
}

/** Whether every string at backends.deployRules[*].source and .target has a known verdict (nothing allocated). */
function allRulePatternsKnown(value: unknown): boolean {
  const rules = (value as { backends?: { deployRules?: unknown } } | null)?.backends?.deployRules;
  if (!Array.isArray(rules)) return true;
  for (const rule of rules) {
    if (rule === null || typeof rule !== "object") continue;
    const { source, target } = rule as { source?: unknown; target?: unknown };
    if (typeof source === "string" && knownRulePatternVerdict(source) === undefined) return false;
    if (typeof target === "string" && knownRulePatternVerdict(target) === undefined) return false;
  }
  return true;
}

/** The distinct strings at backends.deployRules[*].source and .target: what the schema will check as patterns. */
function rulePatternsOf(value: unknown): string[] {
  const rules = (value as { backends?: { deployRules?: unknown } } | null)?.backends?.deployRules;
  if (!Array.isArray(rules)) return [];
  const patterns = new Set<string>();
  for (const rule of rules) {
    if (rule === null || typeof rule !== "object") continue;
    const { source, target } = rule as { source?: unknown; target?: unknown };
    if (typeof source === "string") patterns.add(source);
    if (typeof target === "string") patterns.add(target);
  }
  return [...patterns];
}

/**
 * One pass over the text, outside strings: the first place an object or array opens deeper than MAX_PAYLOAD_DEPTH,
 * and the number of `:`. Duplicate keys are refused without a second parser: every property in the text has exactly
 * one `:` outside strings, and the parsed value has one property per distinct key, so the two counts differ exactly
 * when a key is repeated. Strings (most of a payload) are skipped with the native `indexOf` to their closing quote,
 * a quote being escaped when an odd number of backslashes precede it (exported for its test).
 */
export function scanText(text: string): { tooDeepAt?: number; colons: number } {
  let depth = 0;
  let colons = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) i = closingQuote(text, i);
    else if (c === 58 /* : */) colons++;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > MAX_PAYLOAD_DEPTH) return { tooDeepAt: i, colons };
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return { colons };
}

/** Where the string opened at `open` ends: its closing quote, or the end of the text when it is never closed. */
function closingQuote(text: string, open: number): number {
  let quote = text.indexOf('"', open + 1);
  while (quote !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 92 /* \ */) backslashes++;
    if (backslashes % 2 === 0) return quote;
    quote = text.indexOf('"', quote + 1);
  }
  return text.length;
}

/**
 * The properties of a parsed JSON value, nested ones included. `for...in` allocates no array of keys (Object.keys
 * did, for each object of every payload); it would also count an enumerable property added to Object.prototype, and
 * then the counts differ and the located parser looks for duplicates itself: never a wrong answer, only a slower one.
 */
function countProperties(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) count += countProperties(value[i]);
    return count;
  }
  for (const key in value) count += 1 + countProperties((value as Record<string, unknown>)[key]);
  return count;
}

function parseJsonText(text: string): Node {
  if (text.trim() === "")
    throw new PayloadError("INVALID_JSON", [{ path: "(payload)", message: "empty body; expected a JSON object" }]);
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  // The parser may report one mistake more than once at the same place (e.g. property and value expected).
  const problems = [
    ...new Map(errors.map((e) => describeJsonError(text, e)).map((p) => [`${p.line}:${p.column}`, p])).values(),
  ];
  problems.push(...duplicateKeys(text));
  if (problems.length > 0 || !tree) {
    throw new PayloadError(
      "INVALID_JSON",
      problems.length > 0 ? problems : [{ path: "(payload)", message: "not JSON" }],
    );
  }
  return tree;
}

function describeJsonError(text: string, error: ParseError): PayloadProblem {
  // The most common mistake (the seed's own example has it): a comma before a closing brace or bracket.
  const closing = text[error.offset];
  if (closing === "}" || closing === "]") {
    const before = text.slice(0, error.offset).trimEnd();
    if (before.endsWith(",")) {
      const at = position(text, before.length - 1);
      return {
        path: "(payload)",
        message: `trailing comma before '${closing}': JSON allows none after the last ${closing === "}" ? "property" : "element"}; remove it`,
        ...at,
      };
    }
  }
  const found =
    error.offset < text.length
      ? `found ${JSON.stringify(text.slice(error.offset, error.offset + 12))}`
      : "found the end of the text";
  return {
    path: "(payload)",
    message: `${humanise(printParseErrorCode(error.error))}, ${found}`,
    ...position(text, error.offset),
  };
}

function humanise(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

function duplicateKeys(text: string): PayloadProblem[] {
  const problems: PayloadProblem[] = [];
  const seen: Set<string>[] = [];
  const path: (string | number)[] = [];
  visit(text, {
    onObjectBegin: () => {
      seen.push(new Set());
    },
    onObjectEnd: () => {
      seen.pop();
    },
    onObjectProperty: (key, offset, _length, _line, _column, pathSupplier) => {
      const keys = seen[seen.length - 1];
      if (!keys) return;
      if (keys.has(key)) {
        path.splice(0, path.length, ...pathSupplier(), key);
        problems.push({
          path: formatPath(path),
          message: "duplicate key: JSON keeps only the last one, so one of them would be silently ignored; remove one",
          ...position(text, offset),
        });
      }
      keys.add(key);
    },
  });
  return problems;
}

function position(text: string, offset: number): { line: number; column: number } {
  const at = new LinesAndColumns(text).locationForIndex(Math.min(offset, text.length));
  return { line: (at?.line ?? 0) + 1, column: (at?.column ?? 0) + 1 };
}

/** Points a problem at its place in the text: the value at its path, or the closest enclosing one that exists. */
function locate(problem: PayloadProblem, tree: Node, text: string): void {
  const segments = problem.path === "(payload)" ? [] : parsePath(problem.path);
  for (let n = segments.length; n >= 0; n--) {
    const node = findNodeAtLocation(tree, segments.slice(0, n));
    if (node) {
      const target = n === segments.length && node.parent?.type === "property" ? node.parent : node;
      Object.assign(problem, position(text, target.offset));
      return;
    }
  }
}

function parsePath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    out.push(match[2] !== undefined ? Number(match[2]) : (match[1] as string));
  }
  return out;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out === "" ? "(payload)" : out;
}

function toProblems(issue: z.core.$ZodIssue, value: unknown): PayloadProblem[] {
  if (issue.code === "unrecognized_keys") {
    const known = knownKeysAt(issue.path);
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      message: `unknown key${didYouMean(key, known)}`,
    }));
  }
  if (issue.code === "invalid_type" && valueAt(value, issue.path) === undefined) {
    return [{ path: formatPath(issue.path), message: "required" }];
  }
  return [{ path: formatPath(issue.path), message: issue.message }];
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = Object.hasOwn(current, segment) ? (current as Record<PropertyKey, unknown>)[segment] : undefined;
  }
  return current;
}

/** The keys the schema allows for the object at `path` (array indices skipped). */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = DeployPayloadSchema;
  for (const segment of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodArray && typeof segment === "number") schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodObject) {
      const next = (schema.shape as Record<string, z.ZodType>)[String(segment)];
      if (!next) return [];
      schema = next;
    } else return [];
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault) current = current.unwrap() as z.ZodType;
  return current;
}
