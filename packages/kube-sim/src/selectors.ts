/**
 * Label and field selectors, in the string syntax of `?labelSelector=` / `?fieldSelector=` and in the
 * `LabelSelector` object form used by Deployments, ReplicaSets and Jobs (k8s.io/apimachinery/pkg/labels).
 */

export type Requirement =
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "=" | "!="; values: [string] }
  | { key: string; op: "exists" | "!exists"; values: [] };

export type Selector = Requirement[];

export class SelectorParseError extends Error {
  override readonly name = "SelectorParseError";
}

const keyPattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const valuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, input: string): void {
  if (!keyPattern.test(key)) throw new SelectorParseError(`invalid label key "${key}" in selector "${input}"`);
}
function checkValue(value: string, input: string): void {
  if (value.length > 63 || !valuePattern.test(value))
    throw new SelectorParseError(`invalid label value "${value}" in selector "${input}"`);
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(input: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of input) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(current);
      current = "";
    } else current += ch;
  }
  out.push(current);
  return out;
}

/** Parses `app=web,tier!=db,env in (a,b),!canary,release`. An empty string selects everything. */
export function parseLabelSelector(input: string): Selector {
  const trimmed = input.trim();
  if (trimmed === "") return [];
  const out: Selector = [];
  for (const raw of splitTerms(trimmed)) {
    const term = raw.trim();
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const key = m[1] as string;
      checkKey(key, input);
      const values = (m[3] as string).split(",").map((v) => v.trim());
      for (const v of values) checkValue(v, input);
      out.push({ key, op: m[2] as "in" | "notin", values });
      continue;
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) {
      const key = m[1] as string;
      const value = m[3] as string;
      checkKey(key, input);
      checkValue(value, input);
      out.push({ key, op: m[2] === "!=" ? "!=" : "=", values: [value] });
      continue;
    }
    m = /^(!?)\s*([^=!\s()]+)$/.exec(term);
    if (m) {
      const key = m[2] as string;
      checkKey(key, input);
      out.push({ key, op: m[1] ? "!exists" : "exists", values: [] });
      continue;
    }
    throw new SelectorParseError(`unable to parse requirement "${term}" in selector "${input}"`);
  }
  return out;
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Converts a `LabelSelector` object; an empty object selects everything, as for Deployments. */
export function fromLabelSelectorObject(selector: LabelSelectorObject | undefined): Selector {
  const out: Selector = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) out.push({ key, op: "=", values: [value] });
  for (const e of selector?.matchExpressions ?? []) {
    switch (e.operator) {
      case "In":
        out.push({ key: e.key, op: "in", values: e.values ?? [] });
        break;
      case "NotIn":
        out.push({ key: e.key, op: "notin", values: e.values ?? [] });
        break;
      case "Exists":
        out.push({ key: e.key, op: "exists", values: [] });
        break;
      case "DoesNotExist":
        out.push({ key: e.key, op: "!exists", values: [] });
        break;
      default:
        throw new SelectorParseError(`"${e.operator}" is not a valid label selector operator`);
    }
  }
  return out;
}

export function matchesLabels(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of selector) {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "=":
        if (v !== r.values[0]) return false;
        break;
      case "!=":
        if (has && v === r.values[0]) return false;
        break;
      case "in":
        if (!has || !r.values.includes(v as string)) return false;
        break;
      case "notin":
        if (has && r.values.includes(v as string)) return false;
        break;
      case "exists":
        if (!has) return false;
        break;
      case "!exists":
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Renders a selector back to the string form (as `status.selector` of a scale subresource). */
export function formatSelector(selector: Selector): string {
  return selector
    .map((r) => {
      if (r.op === "=" || r.op === "!=") return `${r.key}${r.op}${r.values[0]}`;
      if (r.op === "exists") return r.key;
      if (r.op === "!exists") return `!${r.key}`;
      return `${r.key} ${r.op} (${r.values.join(",")})`;
    })
    .join(",");
}

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

/** Parses `metadata.name=x,status.phase!=Running`. Which fields are allowed is up to the resource type. */
export function parseFieldSelector(input: string): FieldRequirement[] {
  const trimmed = input.trim();
  if (trimmed === "") return [];
  return trimmed.split(",").map((term) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw new SelectorParseError(`invalid field selector term "${term}" in "${input}"`);
    return { field: m[1] as string, op: m[2] === "!=" ? "!=" : "=", value: m[3] as string };
  });
}
