/**
 * What the engine reports while it works: one event per step, for the CLI's progress, the server's SSE stream and
 * the frontend's `onUpgradeDone` (seed 000), which listens for `upgrade-done`.
 */
export type ReleaseEventType =
  | "waiting-for-lock"
  | "started"
  | "resumed"
  | "taken-over"
  | "hook-started"
  | "hook-done"
  | "config-created"
  | "component-updated"
  /** A component's new version is not getting ready: `reason` says why (CrashLoopBackOff, ImagePullBackOff, an event). */
  | "component-stuck"
  | "preview-ready"
  | "previews-ready"
  | "code-as-data-started"
  | "code-as-data-done"
  | "waiting-for-approval"
  | "approved"
  | "promoting"
  | "component-promoted"
  | "upgrade-done"
  | "configs-collected"
  | "warning"
  | "aborting"
  | "component-aborted"
  | "aborted"
  | "failed";

export interface ReleaseEvent {
  type: ReleaseEventType;
  release: string;
  environment: string;
  /** ISO time from the engine's clock. */
  at: string;
  /** One readable line, e.g. `backend-1: preview ready at https://preview.demo.example.com/`. */
  message: string;
  component?: string;
  /** `promotion` or `code-as-data` for approval events. */
  gate?: ApprovalGate;
  /** For `preview-ready` / `previews-ready` / `waiting-for-approval`: the preview address, as data (never scraped from `message`). */
  previewUrl?: string;
  /** For `component-stuck`: the pod's or workload's reason (`CrashLoopBackOff`, `ProgressDeadlineExceeded`…). */
  reason?: string;
  /** For `failed` and `aborted`: the ReleaseError code that ended the release. */
  code?: string;
}

export type ApprovalGate = "promotion" | "code-as-data";

export type OnReleaseEvent = (event: ReleaseEvent) => void;

/**
 * An `onEvent` callback paired with an async iterable of the same events, for consumers that prefer `for await`
 * (an SSE handler). The iterable ends after `end()`; events are buffered until read.
 */
export function releaseEventChannel(): { onEvent: OnReleaseEvent; end(): void; events: AsyncIterable<ReleaseEvent> } {
  const queue: ReleaseEvent[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    onEvent(event) {
      queue.push(event);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    events: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = queue.shift();
          if (next) {
            yield next;
            continue;
          }
          if (ended) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      },
    },
  };
}
