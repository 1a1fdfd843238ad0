/** Why an oConfig cannot be used. Every problem is listed at once; nothing is rendered from a config with a problem. */
export type OConfigErrorCode =
  | "INVALID_SHAPE"
  | "INVALID_JSON"
  | "NOT_AN_OBJECT"
  | "UNKNOWN_VERSION"
  | "DUPLICATE_VERSION"
  | "PRODUCTION_MODE_REQUIRED"
  | "INVALID_NAME"
  | "CONTAINER_NOT_FOUND"
  | "INVALID_OPTION";

export interface OConfigProblem {
  code: OConfigErrorCode;
  /** The service (backend name or `frontend`) whose oConfig has the problem. */
  service: string;
  /** The config version concerned (`v2`), when there is one. */
  version?: string | undefined;
  /** Where, relative to the service's `oConfig` value: `["configs", 1, "v2"]`. */
  path: readonly (string | number)[];
  message: string;
  /** For INVALID_JSON and PRODUCTION_MODE_REQUIRED: 1-based line and column inside that config's JSON text. */
  line?: number | undefined;
  column?: number | undefined;
}

/** `oConfig.configs[1].v2`: a problem's path as a person reads it. */
export function formatProblemPath(path: readonly (string | number)[]): string {
  return ["oConfig", ...path].map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

export function describeProblem(p: OConfigProblem): string {
  const where = [
    `service "${p.service}"`,
    p.version !== undefined ? `version "${p.version}"` : undefined,
    formatProblemPath(p.path),
    p.line !== undefined ? `line ${p.line}, column ${p.column ?? 1} of the JSON` : undefined,
  ].filter((s) => s !== undefined);
  return `${where.join(", ")}: ${p.message}`;
}

export class OConfigError extends Error {
  override readonly name = "OConfigError";
  /** The code of the first problem. */
  readonly code: OConfigErrorCode;
  readonly problems: readonly OConfigProblem[];

  constructor(problems: OConfigProblem[], options?: { cause?: unknown }) {
    const first = problems[0];
    if (!first) throw new TypeError("OConfigError needs at least one problem");
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(`${count} with oConfig:\n${problems.map((p) => `  ${describeProblem(p)}`).join("\n")}`, options);
    this.code = first.code;
    this.problems = problems;
  }
}
