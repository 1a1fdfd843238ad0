/** One line of human-readable progress per event, for a CLI or CI log; `undefined` for events not worth a line. */
import type { BuildProgressEvent } from "./build-images.js";

export function describeProgress(event: BuildProgressEvent): string | undefined {
  switch (event.type) {
    case "build-started":
      return `building ${event.kind} ${event.repository} (${event.dockerfile}) as ${event.tags.join(", ")}`;
    case "build-output":
      return `  ${event.line}`;
    case "build-finished":
      return `built ${event.repository} ${event.imageId}`;
    case "push-started":
      return `pushing ${event.reference}${event.authenticated ? "" : " (no credentials)"}`;
    case "push-output":
      // Per-layer byte counters are noise in a log; the status lines without them are kept.
      return event.progress ? undefined : `  ${event.status}`;
    case "push-finished":
      return `pushed ${event.reference}${event.digest ? ` ${event.digest}` : ""}`;
  }
}
