/**
 * Time, injectable so tests drive it (kube-sim's ManualClock has this shape) instead of sleeping: the one Clock of
 * the cluster layer (@rollway/rollout-client), so the engine and its client run on the same time.
 */
import { type Clock, realClock } from "@rollway/rollout-client";

export { type Clock, realClock };

/** An AbortSignal that aborts with `reason()` after `ms` of the clock's time, or when `parent` aborts. */
export function timeoutSignal(
  clock: Clock,
  ms: number | undefined,
  parent: AbortSignal | undefined,
  reason: () => Error,
): { signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  parent?.addEventListener("abort", onParent, { once: true });
  const timer = ms === undefined ? undefined : clock.setTimer(ms, () => controller.abort(reason()));
  return {
    signal: controller.signal,
    cancel() {
      timer?.cancel();
      parent?.removeEventListener("abort", onParent);
    },
  };
}
