/**
 * Validates a service's oConfig in either form and parses every version's JSON text (`check.ts`), adding what a
 * release uses: each version's canonical JSON and content hash.
 */

import { contentHash, prettyCanonicalJson } from "./canonical.js";
import { checkOConfig } from "./check.js";
import { OConfigError, type OConfigProblem } from "./errors.js";

export interface OConfigVersion {
  name: string;
  /** The JSON text exactly as written. */
  text: string;
  /** The parsed configuration (always a JSON object). */
  value: Record<string, unknown>;
  /** Canonical, indented JSON: what the ConfigMap holds and what diffs compare. */
  canonical: string;
  /** Hex SHA-256 of the canonical JSON. */
  hash: string;
}

export interface ParsedOConfig {
  service: string;
  form: "legacy" | "versioned";
  current: OConfigVersion;
  /** Equal to `current` (same name) in the legacy form. */
  next: OConfigVersion;
  /** Every version in the order written; the legacy form has one, named `legacy`. */
  versions: OConfigVersion[];
}

export interface ParseOConfigOptions {
  /** The backend name or `frontend`: every problem names it. */
  service: string;
  /** With no-downtime deployment on, every config must set `"sc.production": true` (seed 000). Default true. */
  noDowntime?: boolean;
}

export type OConfigValidation = { ok: true; value: ParsedOConfig } | { ok: false; problems: OConfigProblem[] };

function built(name: string, text: string, value: Record<string, unknown>): OConfigVersion {
  return { name, text, value, canonical: prettyCanonicalJson(value), hash: contentHash(value) };
}

/** Validates an oConfig value (either form) and returns every problem found, or the parsed config. */
export function validateOConfig(input: unknown, options: ParseOConfigOptions): OConfigValidation {
  const problems: OConfigProblem[] = [];
  const value = checkOConfig(input, options, problems, built);
  return value && problems.length === 0 ? { ok: true, value } : { ok: false, problems };
}

/** Parses an oConfig value (either form); throws an OConfigError listing every problem. */
export function parseOConfig(input: unknown, options: ParseOConfigOptions): ParsedOConfig {
  const result = validateOConfig(input, options);
  if (!result.ok) throw new OConfigError(result.problems);
  return result.value;
}
