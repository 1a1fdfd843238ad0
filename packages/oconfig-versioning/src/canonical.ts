/**
 * Canonical JSON: keys sorted at every depth, so the same configuration always gives the same text and hash,
 * whatever the key order or whitespace the user wrote.
 */
import { createHash } from "node:crypto";
import { configure } from "safe-stable-stringify";

const stringify = configure({ deterministic: true, circularValue: TypeError, bigint: false, strict: true });

/** Compact canonical JSON: what the content hash is computed over. */
export function canonicalJson(value: unknown): string {
  const text = stringify(value);
  if (text === undefined) throw new TypeError("canonicalJson: value has no JSON form");
  return text;
}

/** Canonical JSON indented by two spaces and ending with a newline: what goes into ConfigMaps and diffs. */
export function prettyCanonicalJson(value: unknown): string {
  const text = stringify(value, null, 2);
  if (text === undefined) throw new TypeError("prettyCanonicalJson: value has no JSON form");
  return `${text}\n`;
}

/** Hex SHA-256 of the canonical JSON. */
export function contentHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}
