/**
 * Checks a service's oConfig in either form and parses every version's JSON text. All problems are reported together,
 * each naming the service, the version and the place (line and column inside the JSON). Without what only a release
 * uses (`canonical.ts`: each version's canonical JSON and content hash), which `parse.ts` adds.
 */

import { findNodeAtLocation, getNodeValue, type ParseError, parseTree, printParseErrorCode } from "jsonc-parser";
import { LinesAndColumns } from "lines-and-columns";
import type { z } from "zod";
import type { OConfigProblem } from "./errors.js";
import type { OConfigVersion, ParsedOConfig, ParseOConfigOptions } from "./parse.js";
import { LEGACY_VERSION, PRODUCTION_KEY, plainObject } from "./quick-check.js";
import { versionedOConfigSchema } from "./schema.js";

/** Converts an offset in `text` to a 1-based line and column. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const at = new LinesAndColumns(text).locationForIndex(Math.min(offset, text.length));
  return { line: (at?.line ?? 0) + 1, column: (at?.column ?? 0) + 1 };
}

/** A version's parsed value, or undefined with its problems added. */
function parseVersion(
  service: string,
  name: string,
  text: string,
  path: (string | number)[],
  noDowntime: boolean,
  problems: OConfigProblem[],
): Record<string, unknown> | undefined {
  const plain = plainObject(text, noDowntime);
  if (plain) return plain;
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const firstError = errors[0];
  if (firstError || !tree) {
    const { offset, message } = describeJsonError(text, firstError);
    problems.push({ code: "INVALID_JSON", service, version: name, path, message, ...lineColumn(text, offset) });
    return undefined;
  }
  if (tree.type !== "object") {
    problems.push({
      code: "NOT_AN_OBJECT",
      service,
      version: name,
      path,
      message: `a config is a JSON object ({ "key": value, ... }), not ${tree.type === "array" ? "an array" : `a ${tree.type}`}`,
      ...lineColumn(text, tree.offset),
    });
    return undefined;
  }
  const value = getNodeValue(tree) as Record<string, unknown>;
  if (noDowntime && value[PRODUCTION_KEY] !== true) {
    const node = findNodeAtLocation(tree, [PRODUCTION_KEY]);
    problems.push({
      code: "PRODUCTION_MODE_REQUIRED",
      service,
      version: name,
      path,
      message: node
        ? `"${PRODUCTION_KEY}" is ${JSON.stringify(value[PRODUCTION_KEY])}; no-downtime deployment needs "${PRODUCTION_KEY}": true`
        : `no-downtime deployment needs "${PRODUCTION_KEY}": true in every config; add it to this one`,
      ...lineColumn(text, node ? (node.parent ?? node).offset : tree.offset),
    });
  }
  return value;
}

const JSON_ERRORS: Record<string, string> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "expected a property name in double quotes",
  ValueExpected: "expected a value",
  ColonExpected: "expected ':' after the property name",
  CommaExpected: "expected ',' between entries",
  CloseBraceExpected: "expected '}' to close the object",
  CloseBracketExpected: "expected ']' to close the array",
  EndOfFileExpected: "unexpected text after the end of the object",
  InvalidCommentToken: "comments are not allowed in JSON",
  UnexpectedEndOfComment: "comments are not allowed in JSON",
  UnexpectedEndOfString: "unterminated string",
  InvalidUnicode: "invalid \\u escape",
  InvalidEscapeCharacter: "invalid escape character",
  InvalidCharacter: "a control character (tab, newline) inside a string; escape it",
};

/** A person's words for a JSON error, and where it is; a trailing comma is named and pointed at. */
function describeJsonError(text: string, error: ParseError | undefined): { offset: number; message: string } {
  if (!error || text.trim() === "")
    return { offset: 0, message: 'empty; a config is a JSON object such as { "sc.production": true }' };
  const code = printParseErrorCode(error.error);
  const closing = text[error.offset];
  if ((code === "PropertyNameExpected" || code === "ValueExpected") && (closing === "}" || closing === "]")) {
    const comma = text.slice(0, error.offset).trimEnd();
    if (comma.endsWith(",")) {
      return {
        offset: comma.length - 1,
        message: `invalid JSON: a trailing comma before '${closing}'; remove it (JSON allows none)`,
      };
    }
  }
  const words = JSON_ERRORS[code] ?? code;
  return { offset: error.offset, message: `invalid JSON: ${words}` };
}

/**
 * Every problem of an oConfig value (either form), none when it is valid: `validateOConfig`'s problems, without
 * building what only a release uses (each version's canonical JSON and content hash).
 */
export function oConfigProblems(input: unknown, options: ParseOConfigOptions): OConfigProblem[] {
  const problems: OConfigProblem[] = [];
  checkOConfig(input, options, problems);
  return problems;
}

/** Adds every problem of an oConfig value to `problems`; with `build`, returns the parsed config when none. */
export function checkOConfig(
  input: unknown,
  options: ParseOConfigOptions,
  problems: OConfigProblem[],
  build?: (name: string, text: string, value: Record<string, unknown>) => OConfigVersion,
): ParsedOConfig | undefined {
  const { service } = options;
  const noDowntime = options.noDowntime ?? true;
  const parse = (name: string, text: string, path: (string | number)[]) => {
    const value = parseVersion(service, name, text, path, noDowntime, problems);
    return value && build ? build(name, text, value) : undefined;
  };

  if (typeof input === "string") {
    const version = parse(LEGACY_VERSION, input, []);
    if (!version || problems.length > 0) return undefined;
    return { service, form: "legacy", current: version, next: version, versions: [version] };
  }

  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    problems.push({
      code: "INVALID_SHAPE",
      service,
      path: [],
      message: `oConfig is a JSON string or an object with current, next and configs, not ${input === null ? "null" : Array.isArray(input) ? "an array" : typeof input}`,
    });
    return undefined;
  }

  // Read once per oConfig: zod's compiled fast path (a `new Function` per object schema) would cost more to generate
  // than it saves.
  const shape = versionedOConfigSchema.safeParse(input, { jitless: true });
  if (!shape.success) {
    for (const issue of shape.error.issues) {
      const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
      const version = path[0] === "configs" && typeof path[2] === "string" ? path[2] : undefined;
      problems.push({ code: "INVALID_SHAPE", service, version, path, message: describeIssue(issue) });
    }
    return undefined;
  }

  const { current, next, configs } = shape.data;
  const versions: OConfigVersion[] = [];
  const seen = new Map<string, number>();
  configs.forEach((entry, index) => {
    const [name, text] = Object.entries(entry)[0] as [string, string];
    const path = ["configs", index, name];
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      problems.push({
        code: "DUPLICATE_VERSION",
        service,
        version: name,
        path,
        message: `version "${name}" is already defined at configs[${earlier}]; give each version a distinct name`,
      });
      return;
    }
    seen.set(name, index);
    const version = parse(name, text, path);
    if (version) versions.push(version);
  });
  const known = [...seen.keys()];
  for (const field of ["current", "next"] as const) {
    const name = shape.data[field];
    if (!seen.has(name)) {
      problems.push({
        code: "UNKNOWN_VERSION",
        service,
        version: name,
        path: [field],
        message: `${field} is "${name}" but configs defines ${known.length ? known.map((k) => `"${k}"`).join(", ") : "no version"}; add "${name}" to configs or pick one of those`,
      });
    }
  }
  if (problems.length > 0 || !build) return undefined;
  const byName = (name: string) => versions.find((v) => v.name === name) as OConfigVersion;
  return { service, form: "versioned", current: byName(current), next: byName(next), versions };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}; oConfig has current, next and configs`;
  }
  if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) {
    return `missing: expected ${issue.expected === "string" ? "a version name" : issue.expected}`;
  }
  return issue.message;
}
