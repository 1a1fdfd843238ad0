/**
 * The oConfig checks that need neither zod nor the located JSON parser (jsonc-parser): the constants, the `.refine()`
 * predicate of the schema, and `oConfigIsClean`, which says when `oConfigProblems` would find nothing without loading
 * either (the environment file's quick read in @rollway/release uses it; anything it is unsure of takes the full check).
 */

/** The version name given to a legacy single-string oConfig. */
export const LEGACY_VERSION = "legacy";
/** The key seed 000 requires to be `true` in every config when no-downtime deployment is on. */
export const PRODUCTION_KEY = "sc.production";

/** An entry of `configs` names exactly one version. */
export const isSingleVersionEntry = (entry: Record<string, string>): boolean => Object.keys(entry).length === 1;

/**
 * The common case, without the located parser: text that `JSON.parse` (native) reads as an object, with
 * `"sc.production": true` when that is required, has no problem to report, and jsonc-parser (run with comments and
 * trailing commas refused, empty text refused) would read the same value. `JSON.parse` keeps a `__proto__` key as a
 * key where jsonc-parser's assignment sets the prototype, so such text takes the located parser. Anything else
 * (invalid JSON, not an object, a missing or false production key) takes it too, to name the line and column.
 */
export function plainObject(text: string, noDowntime: boolean): Record<string, unknown> | undefined {
  if (text.includes("__proto__")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const object = value as Record<string, unknown>;
  return noDowntime && object[PRODUCTION_KEY] !== true ? undefined : object;
}

/**
 * True when `oConfigProblems(input, options)` finds nothing, for an input `oConfigSchema` accepts: every version's text
 * is a JSON object (with `"sc.production": true` when no-downtime is on), no version is defined twice, and `current`
 * and `next` are defined. False means "run the full check" (it says what is wrong, and where), not "invalid".
 */
export function oConfigIsClean(input: unknown, options: { noDowntime?: boolean | undefined }): boolean {
  const noDowntime = options.noDowntime ?? true;
  if (typeof input === "string") return plainObject(input, noDowntime) !== undefined;
  const { current, next, configs } = input as { current: string; next: string; configs: Record<string, string>[] };
  const seen = new Set<string>();
  for (const entry of configs) {
    const [name, text] = Object.entries(entry)[0] as [string, string];
    if (seen.has(name) || plainObject(text, noDowntime) === undefined) return false;
    seen.add(name);
  }
  return seen.has(current) && seen.has(next);
}
