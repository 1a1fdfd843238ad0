/** What a release ended as, whichever mode ran it: the Action's outputs and job summary come from this. */
export interface ReleaseResult {
  releaseId: string;
  /** The environment's name. */
  environment: string;
  previewUrl: string;
  /** The release state (promoted, failed, aborted, waiting-for-approval...) or `started` when not waited for. */
  status: string;
  message?: string | undefined;
  /** The step's timeout ran out before the release got as far as `wait` asked. */
  timedOut?: boolean;
  components: { name: string; from: string | undefined; to: string }[];
}

/** Where the modes write progress lines (the toolkit's `core.info`). */
export interface Log {
  info(line: string): void;
}

const cell = (s: string | undefined) => (s ?? "—").replace(/\|/g, "\\|");

export function summaryMarkdown(result: ReleaseResult): string {
  const rows = result.components.map(
    (c) => `| ${cell(c.name)} | \`${cell(c.from)}\` | \`${cell(c.to)}\` | ${result.status} |`,
  );
  return [
    `### rollway: release \`${result.releaseId}\` to ${result.environment}: ${result.status}`,
    "",
    result.previewUrl ? `Preview: ${result.previewUrl}` : "",
    result.message ? `> ${result.message}` : "",
    "",
    "| component | image from | image to | status |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ]
    .filter((line, i, all) => line !== "" || all[i - 1] !== "")
    .join("\n");
}

/** States a step ends green on: the release went as far as it could without a decision, or was not waited for. */
export const SUCCESS_STATES = new Set(["promoted", "started", "waiting-for-approval", "applying", "promoting"]);
