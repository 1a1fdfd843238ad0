/** Time, injectable so tests drive it (kube-sim's ManualClock has this shape) instead of sleeping. */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): { cancel(): void };
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(timer) };
  },
};

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
