/** One thing wrong with a deploy payload, at one place. */
export interface PayloadProblem {
  /** Where, in payload terms: `backends.deployRules[1].target`; `(payload)` for the whole document. */
  path: string;
  message: string;
  /** 1-based position in the JSON text, when the payload came as text. */
  line?: number;
  column?: number;
}

export type PayloadErrorCode = "INVALID_JSON" | "INVALID_PAYLOAD" | "TOO_LARGE" | "TOO_DEEP";

const WHAT: Record<PayloadErrorCode, string> = {
  INVALID_JSON: "the deploy payload is not valid JSON",
  INVALID_PAYLOAD: "the deploy payload is invalid",
  TOO_LARGE: "the deploy payload is too large",
  TOO_DEEP: "the deploy payload is nested too deep",
};

/** Everything wrong with a payload, listed at once. Nothing is deployed from a payload that throws this. */
export class PayloadError extends Error {
  override readonly name = "PayloadError";
  readonly code: PayloadErrorCode;
  readonly problems: readonly PayloadProblem[];

  constructor(code: PayloadErrorCode, problems: PayloadProblem[], options?: { cause?: unknown }) {
    const lines = problems.map((p) => `  ${formatProblem(p)}`);
    const what = WHAT[code];
    super(
      `${what} (${problems.length === 1 ? "1 problem" : `${problems.length} problems`}):\n${lines.join("\n")}`,
      options,
    );
    this.code = code;
    this.problems = problems;
  }
}

export function formatProblem(p: PayloadProblem): string {
  const where = p.line === undefined ? "" : ` (line ${p.line}, column ${p.column})`;
  return `${p.path}${where}: ${p.message}`;
}
