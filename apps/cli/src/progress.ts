/**
 * Live progress of every component of a release, from rollout-client watches: at a terminal one line per component
 * redrawn in place with a spinner and a progress bar; in a log or pipe one line per change; with --json one JSON
 * object per change.
 */
import type { RolloutClient, WorkloadStatus } from "@rollway/rollout-client";
import type { Output } from "./output.js";
import { colorEnabled, isInteractive, paint } from "./style.js";

export interface ComponentRef {
  name: string;
  target: string;
}

export interface Progress {
  /** A line of text that belongs above the live block (events). */
  log(line: string): void;
  /**
   * Ends the watches. `final`: each component's status as its waiter last read it; a component whose watch had not
   * shown that status yet (the waiter can settle before the watch's first event) gets its line now, so the stream
   * always holds every component's last status.
   */
  stop(final?: ReadonlyMap<string, WorkloadStatus>): Promise<void>;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * One component in one line. While a new version rolls out, `stable → new` and the new version's own ready pods
 * (`readyReplicas` still counts the old pods that serve users); otherwise the image served and the ready pods.
 */
export function describeStatus(s: WorkloadStatus): string {
  const image = s.images[0]?.image ?? "?";
  const stable = s.stableImages?.[0]?.image;
  const message = s.message ? ` (${s.message})` : "";
  if (stable && stable !== image && s.phase !== "Healthy") {
    const ready = s.updatedReadyReplicas ?? Math.min(s.updatedReplicas, s.readyReplicas);
    return `${s.phase} ${stable} → ${image}, new ${Math.min(ready, s.desiredReplicas)}/${s.desiredReplicas} ready${message}`;
  }
  return `${s.phase} ${s.readyReplicas}/${s.desiredReplicas} ready, ${image}${message}`;
}

const BAR_CELLS = 12;

/**
 * How far a component's rollout has come, as a bar: a canary's steps when it has them (its traffic weight beside),
 * otherwise the new version's ready pods out of those wanted (its own ReplicaSet's count when known: a blue-green
 * Rollout's `readyReplicas` still counts the old active pods). Healthy is always full.
 */
export function progressBar(s: WorkloadStatus): string {
  let done: number;
  let label: string;
  const steps = s.canary?.steps;
  if (steps && s.canary?.stepIndex !== undefined) {
    done = Math.min(s.canary.stepIndex, steps) / steps;
    label = `step ${Math.min(s.canary.stepIndex, steps)}/${steps}${s.canary.weight === undefined ? "" : `, ${s.canary.weight}% traffic`}`;
  } else {
    const ready = s.updatedReadyReplicas ?? Math.min(s.updatedReplicas, s.readyReplicas);
    done = s.desiredReplicas > 0 ? Math.min(ready, s.desiredReplicas) / s.desiredReplicas : 1;
    label = `${Math.min(ready, s.desiredReplicas)}/${s.desiredReplicas}`;
  }
  if (s.phase === "Healthy") done = 1;
  const filled = Math.round(done * BAR_CELLS);
  return `[${"█".repeat(filled)}${"░".repeat(BAR_CELLS - filled)}] ${label}`;
}

/** The row cut to `room` characters (an ellipsis says so), the status after the bar painted in its phase's colour. */
export function fitRow(text: string, room: number, phase: WorkloadStatus["phase"] | undefined, color: boolean): string {
  const cut = text.length > room ? `${text.slice(0, Math.max(0, room - 1))}…` : text;
  if (!phase) return cut;
  const bar = cut.indexOf("]  ");
  if (bar < 0) return paint(cut, phaseColor(phase), color);
  return `${cut.slice(0, bar + 3)}${paint(cut.slice(bar + 3), phaseColor(phase), color)}`;
}

function phaseColor(phase: WorkloadStatus["phase"]) {
  return phase === "Healthy" ? "green" : phase === "Paused" ? "blue" : phase === "Progressing" ? "yellow" : "red";
}

/** Watches every component until `stop()`; a component that cannot be watched shows why instead. */
export function watchComponents(
  client: RolloutClient,
  namespace: string,
  components: readonly ComponentRef[],
  output: Output,
): Progress {
  const controller = new AbortController();
  const live = !output.json && isInteractive();
  const color = colorEnabled();
  const width = Math.max(...components.map((c) => c.name.length));
  /** Each row's text and colour, kept apart so a row can be cut to the terminal's width before it is painted. */
  const lines = new Map<string, { text: string; phase?: WorkloadStatus["phase"] }>(
    components.map((c) => [c.name, { text: "waiting for the first status" }]),
  );
  let drawn = 0;
  let frame = 0;
  const draw = () => {
    if (!live) return;
    const spin = SPINNER[frame++ % SPINNER.length];
    // A row longer than the terminal wraps onto two, and moving up by the row count would then leave copies behind:
    // every row is cut to the width (read at each frame: the window may be resized).
    const columns = process.stdout.columns || 80;
    let text = drawn > 0 ? `\u001b[${drawn}A` : "";
    for (const c of components) {
      const row = lines.get(c.name) ?? { text: "" };
      const prefix = `${spin} ${c.name.padEnd(width)}  `;
      text += `\u001b[2K${prefix}${fitRow(row.text, columns - 1 - prefix.length, row.phase, color)}\n`;
    }
    drawn = components.length;
    output.out(text);
  };
  const clear = () => {
    if (live && drawn > 0) output.out(`\u001b[${drawn}A\u001b[0J`);
    drawn = 0;
  };
  const timer = live ? setInterval(draw, 120) : undefined;

  /** The last status line shown per component: a status that would show the same line again is skipped. */
  const shown = new Map<string, string>();
  const show = (c: ComponentRef, s: WorkloadStatus) => {
    const text = describeStatus(s);
    const bar = progressBar(s);
    if (shown.get(c.name) === text + bar) return;
    shown.set(c.name, text + bar);
    if (output.json) {
      output.out(
        `${JSON.stringify({ type: "status", component: c.name, phase: s.phase, ready: s.readyReplicas, desired: s.desiredReplicas, updatedReady: s.updatedReadyReplicas, images: s.images, message: s.message })}\n`,
      );
    } else if (live) {
      lines.set(c.name, { text: `${bar}  ${text}`, phase: s.phase });
    } else {
      output.out(`  ${c.name.padEnd(width)}  ${text}\n`);
    }
  };

  const watches = components.map(async (c) => {
    try {
      const target = await client.target(c.target, namespace);
      for await (const s of client.watch(target, { signal: controller.signal })) show(c, s);
    } catch (error) {
      if (controller.signal.aborted) return;
      const why = error instanceof Error ? error.message : String(error);
      if (live) lines.set(c.name, { text: `cannot watch: ${why}` });
      else if (!output.json) output.out(`  ${c.name.padEnd(width)}  cannot watch: ${why}\n`);
    }
  });
  return {
    log(line) {
      if (output.json) return;
      clear();
      output.out(`${line}\n`);
      draw();
    },
    async stop(final) {
      controller.abort();
      if (timer) clearInterval(timer);
      await Promise.allSettled(watches);
      for (const c of components) {
        const s = final?.get(c.name);
        if (s) show(c, s);
      }
      draw();
      drawn = 0;
    },
  };
}
