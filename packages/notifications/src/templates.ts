/**
 * Triggers and templates, Argo notifications' model kept small: a release event becomes at most one notification
 * event (a trigger), with a key that names it across replicas, and a template turns it into a title and a body with
 * `{{variable}}` placeholders.
 */
import type { ReleaseEvent } from "@rollway/release";
import type { NotificationEvent, Template } from "./config.js";

/** What the engine's event does not say, from the release it belongs to. */
export interface EventContext {
  /** The release this one rolls back (rollbacks notify `rolled-back` instead of `promoted`). */
  rollbackOf?: string;
  /** The environment's preview host, for the link in `waiting-for-approval` when the event has no `previewUrl`. */
  previewHost?: string;
  /** A link to the release in the dashboard, when the server knows its own URL. */
  releaseUrl?: string;
}

export interface Triggered {
  event: NotificationEvent;
  /** Same release event, same key, on every replica: `<release>/<event>[/<gate>][/<component>/<reason>]`. */
  key: string;
  variables: Record<string, string>;
}

/** The notification a release event triggers, if any. */
export function trigger(event: ReleaseEvent, context: EventContext = {}): Triggered | undefined {
  const which = eventFor(event, context);
  if (!which) return undefined;
  // A stuck component is told once per component and reason (the engine reports each once too; replicas and
  // replays share the key, so the cluster claim keeps it to one).
  const stuck = which === "component-stuck";
  const key = [event.release, which, event.gate, stuck ? event.component : undefined, stuck ? event.reason : undefined]
    .filter(Boolean)
    .join("/");
  const variables: Record<string, string> = {
    event: which,
    release: event.release,
    environment: event.environment,
    message: event.message,
    at: event.at,
    component: event.component ?? "",
    gate: event.gate ?? "",
    reason: event.reason ?? "",
    previewUrl: event.previewUrl ?? (context.previewHost ? `https://${context.previewHost}/` : ""),
    rollbackOf: context.rollbackOf ?? "",
    releaseUrl: context.releaseUrl ?? "",
  };
  return { event: which, key, variables };
}

function eventFor(event: ReleaseEvent, context: EventContext): NotificationEvent | undefined {
  switch (event.type) {
    case "started":
      return "release-started";
    case "waiting-for-approval":
      return "waiting-for-approval";
    case "upgrade-done":
      return context.rollbackOf ? "rolled-back" : "promoted";
    case "failed":
      return "failed";
    case "aborted":
      return "aborted";
    case "component-stuck":
      return "component-stuck";
    default:
      return undefined;
  }
}

export const DEFAULT_TEMPLATES: Record<NotificationEvent, Template> = {
  "release-started": { title: "Release {{release}} started in {{environment}}", body: "{{message}}" },
  "waiting-for-approval": {
    title: "Release {{release}} waits for approval in {{environment}}",
    body: "Try it at {{previewUrl}}, then approve {{gate}}. {{message}}",
  },
  promoted: { title: "Release {{release}} serves {{environment}}", body: "{{message}}" },
  failed: { title: "Release {{release}} failed in {{environment}}", body: "Why: {{message}}" },
  aborted: { title: "Release {{release}} aborted in {{environment}}", body: "{{message}}" },
  "rolled-back": {
    title: "{{environment}} rolled back ({{rollbackOf}} undone by {{release}})",
    body: "{{message}}",
  },
  "component-stuck": { title: "{{component}} is stuck in release {{release}} ({{reason}})", body: "{{message}}" },
};

/** Fills `{{name}}` placeholders; unknown names become empty. Values are text: each sender escapes for its format. */
export function render(template: Template, variables: Record<string, string>): Template {
  const fill = (text: string) =>
    text.replace(/\{\{\s*([A-Za-z]+)\s*\}\}/g, (_m, name: string) =>
      Object.hasOwn(variables, name) ? (variables[name] as string) : "",
    );
  return { title: fill(template.title), body: fill(template.body) };
}
