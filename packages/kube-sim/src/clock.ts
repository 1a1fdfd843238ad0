/**
 * Time for the simulator. Everything that waits (pod readiness, minReadySeconds, progress deadlines, job run time)
 * asks the clock for a timer, so tests drive time with `clock.advance(ms)` and never sleep.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
  /** Calls `fn` once `ms` milliseconds of this clock's time have passed. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** The wall clock: timers are real `setTimeout`s (unref'd so they never keep a process alive). */
export function realClock(): Clock {
  return {
    now: () => Date.now(),
    setTimer(ms, fn) {
      const t = setTimeout(fn, Math.max(0, ms));
      t.unref?.();
      return { cancel: () => clearTimeout(t) };
    },
  };
}

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to. Timers fire in order of due time, then of creation. */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.current = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves time forward by `ms`, firing each timer that falls due, at its own due time, in order. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`clock.advance needs a finite number of ms >= 0, got ${ms}`);
    const target = this.current + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.cancelled = true;
      next.fn();
    }
    this.current = target;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  /** How many timers wait to fire (for tests that check a simulation does not pile them up). */
  pendingTimers(): number {
    let n = 0;
    for (const t of this.timers) if (!t.cancelled) n++;
    return n;
  }

  /** Due time of the earliest pending timer, if any. */
  nextTimerAt(): number | undefined {
    let best: number | undefined;
    for (const t of this.timers) if (!t.cancelled && (best === undefined || t.at < best)) best = t.at;
    return best;
  }

  private nextDue(limit: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (t.cancelled || t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
