/**
 * A release's lifecycle as data: state × event → next state + effects. The engine changes a record's state only
 * through `transition`, so a record can never reach a state the table does not allow (an `aborting` that never
 * ends, a `promoted` that becomes `aborted`). README.md shows the same table; a test keeps them equal.
 */
import { ReleaseError } from "./errors.js";
import type { ReleaseState } from "./records.js";

export type LifecycleEvent =
  /** Every changed component runs its new version in preview (or rolled out, for a Deployment); manual mode. */
  | "previews-ready"
  /** The promotion was approved (or the release promotes automatically once its previews are ready). */
  | "approved"
  /** Every component serves its new version. */
  | "all-healthy-new"
  /** Someone asked for an abort (any process), or recovery rolls an orphan back. */
  | "abort-requested"
  /** A preview never became ready, a Job failed, a write was refused, nobody approved in time. */
  | "fault"
  /** The caller's time limit ran out. */
  | "timed-out"
  /** Every touched component serves again exactly what it served before; the release had been aborted. */
  | "restored-after-abort"
  /** The same after a fault or a timeout. */
  | "restored-after-failure"
  /** A write kept failing during the abort: what is left is recorded with the command that finishes it. */
  | "write-refused"
  /** A later release put back what this one replaced. */
  | "rolled-back"
  /** Another engine took the release over after its engine's Lease expired (the state does not change). */
  | "taken-over";

export type LifecycleEffect =
  | "write-templates"
  | "record-served-before"
  | "notify"
  | "promote-components"
  | "release-lease"
  | "restore-served-before"
  | "record-leftover"
  | "collect-configmaps"
  | "record-takeover";

export interface Transition {
  next: ReleaseState;
  effects: readonly LifecycleEffect[];
}

const running = (state: ReleaseState) =>
  ({
    "abort-requested": { next: "aborting", effects: ["restore-served-before"] },
    fault: { next: "aborting", effects: ["restore-served-before"] },
    "timed-out": { next: "aborting", effects: ["restore-served-before"] },
    "taken-over": { next: state, effects: ["record-takeover"] },
  }) as const;

/** Every allowed (state, event) pair. A release is created `applying` once it holds the Lease (effects: the served-before read, the template writes). */
export const LIFECYCLE = {
  applying: {
    "previews-ready": { next: "waiting-for-approval", effects: ["notify"] },
    approved: { next: "promoting", effects: ["promote-components"] },
    ...running("applying"),
  },
  "waiting-for-approval": {
    approved: { next: "promoting", effects: ["promote-components"] },
    ...running("waiting-for-approval"),
  },
  promoting: {
    "all-healthy-new": { next: "promoted", effects: ["release-lease", "notify", "collect-configmaps"] },
    ...running("promoting"),
  },
  aborting: {
    "restored-after-abort": { next: "aborted", effects: ["release-lease", "notify"] },
    "restored-after-failure": { next: "failed", effects: ["release-lease", "notify"] },
    "write-refused": { next: "failed", effects: ["record-leftover", "release-lease", "notify"] },
    "taken-over": { next: "aborting", effects: ["record-takeover"] },
  },
  promoted: {
    "rolled-back": { next: "rolled-back", effects: [] },
  },
  failed: {
    // A failed release with leftover components, finished by `rollway rollback <id>`.
    "rolled-back": { next: "rolled-back", effects: [] },
  },
  aborted: {},
  "rolled-back": {},
} as const satisfies Record<ReleaseState, Partial<Record<LifecycleEvent, Transition>>>;

/** The transition the table allows, or INVALID_STATE naming the state and the event. */
export function transition(state: ReleaseState, event: LifecycleEvent, release?: string): Transition {
  const t = (LIFECYCLE[state] as Partial<Record<LifecycleEvent, Transition>>)[event];
  if (!t)
    throw new ReleaseError(
      "INVALID_STATE",
      `release${release ? ` "${release}"` : ""} is ${state}: "${event}" does not apply (see the state table in @rollway/release's README)`,
      release ? { release } : {},
    );
  return t;
}

/** The table as Markdown, one row per allowed pair: what README.md shows. */
export function lifecycleMarkdown(): string {
  const rows = Object.entries(LIFECYCLE).flatMap(([state, events]) =>
    Object.entries(events as Record<string, Transition>).map(
      ([event, t]) => `| ${state} | ${event} | ${t.next} | ${t.effects.join(", ") || "—"} |`,
    ),
  );
  return ["| state | event | next state | effects |", "| --- | --- | --- | --- |", ...rows].join("\n");
}
