/**
 * What changes between two config versions: a key-level list (microdiff over the parsed JSON) for programs
 * and summaries, and a unified diff (jsdiff over the canonical, indented JSON) for people. Values under keys
 * that look secret are redacted in both.
 */
import { createTwoFilesPatch } from "diff";
import microdiff from "microdiff";
import { prettyCanonicalJson } from "./canonical.js";
import type { OConfigVersion, ParsedOConfig } from "./parse.js";

export interface OConfigChange {
  kind: "added" | "removed" | "changed";
  /** Path of keys inside the config: `["sc.production"]`, `["db", "hosts", 0]`. */
  path: (string | number)[];
  /** The old value (absent for `added`); `"<redacted>"` for secret-looking keys. */
  from?: unknown;
  /** The new value (absent for `removed`); `"<redacted>"` for secret-looking keys. */
  to?: unknown;
}

export interface OConfigDiff {
  service: string;
  from: string;
  to: string;
  /** False when next is current, or when both versions have the same content: the pods need no new config. */
  changed: boolean;
  changes: OConfigChange[];
  /** A unified diff of the two canonical JSON documents; empty when nothing changed. */
  unified: string;
}

/** Keys whose values never appear in a diff: they often hold passwords and tokens. */
export const SECRET_KEY_PATTERN = /pass(word|wd)?|secret|token|credential|private|api[-_.]?key|auth/i;
export const REDACTED = "<redacted>";
const REDACTED_CHANGED = "<redacted, changed>";

const isSecretPath = (path: readonly (string | number)[]) =>
  path.some((segment) => typeof segment === "string" && SECRET_KEY_PATTERN.test(segment));

/** Copies `value`, replacing values under secret-looking keys; where `other` differs there, marks the change. */
function redact(value: unknown, other: unknown, secret: boolean): unknown {
  if (secret) {
    if (typeof value === "object" && value !== null) {
      // Keep the structure so the unified diff lines up, hide every leaf.
      return redactContainer(value, other, true);
    }
    return JSON.stringify(value) === JSON.stringify(other) ? REDACTED : REDACTED_CHANGED;
  }
  if (typeof value === "object" && value !== null) return redactContainer(value, other, false);
  return value;
}

function redactContainer(value: object, other: unknown, secret: boolean): unknown {
  const otherObject = (typeof other === "object" && other !== null ? other : {}) as Record<string, unknown>;
  if (Array.isArray(value)) {
    return value.map((item, i) => redact(item, (otherObject as unknown as unknown[])[i], secret));
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      redact(item, otherObject[key], secret || SECRET_KEY_PATTERN.test(key)),
    ]),
  );
}

/** Diffs two versions of one service's config. */
export function diffVersions(service: string, from: OConfigVersion, to: OConfigVersion): OConfigDiff {
  if (from.hash === to.hash) {
    return { service, from: from.name, to: to.name, changed: false, changes: [], unified: "" };
  }
  const changes = microdiff(from.value, to.value).map((d): OConfigChange => {
    const path = [...d.path];
    const hidden = isSecretPath(path);
    const show = (v: unknown) => (hidden ? REDACTED : v);
    if (d.type === "CREATE") return { kind: "added", path, to: show(d.value) };
    if (d.type === "REMOVE") return { kind: "removed", path, from: show(d.oldValue) };
    return { kind: "changed", path, from: show(d.oldValue), to: show(d.value) };
  });
  const before = prettyCanonicalJson(redact(from.value, from.value, false));
  const after = prettyCanonicalJson(redact(to.value, from.value, false));
  const unified = createTwoFilesPatch(
    `${service}/oConfig@${from.name}`,
    `${service}/oConfig@${to.name}`,
    before,
    after,
    undefined,
    undefined,
    { context: 3 },
  );
  return { service, from: from.name, to: to.name, changed: true, changes, unified };
}

/** What the next release changes in this service's config: `current` → `next`. */
export function diffOConfig(parsed: ParsedOConfig): OConfigDiff {
  return diffVersions(parsed.service, parsed.current, parsed.next);
}

const formatKey = (path: readonly (string | number)[]) =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

/**
 * A short summary for plans and logs:
 * ```
 * backend-1 oConfig v1 → v2
 *   ~ param1: "a value" → "another value"
 *   + param2: "a new value"
 * ```
 */
export function formatOConfigDiff(diff: OConfigDiff): string {
  if (!diff.changed) {
    return diff.from === diff.to
      ? `${diff.service} oConfig: no change (stays on ${diff.from})`
      : `${diff.service} oConfig ${diff.from} → ${diff.to}: same content, no change`;
  }
  const lines = diff.changes.map((c) => {
    const key = formatKey(c.path);
    if (c.kind === "added") return `  + ${key}: ${JSON.stringify(c.to)}`;
    if (c.kind === "removed") return `  - ${key}: ${JSON.stringify(c.from)}`;
    return `  ~ ${key}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`;
  });
  return [`${diff.service} oConfig ${diff.from} → ${diff.to}`, ...lines].join("\n");
}
