/**
 * The dashboard's pages, as server-rendered HTML. Every value goes through hono/html's `html` template, which
 * escapes it (image names, messages and user names come from users); nothing is marked raw but fixed markup.
 * No inline script or style: the CSP forbids both.
 */
import type { ComponentStatus, Environment, EnvironmentStatus, ReleaseRecord } from "@rollway/release";
import { html } from "hono/html";
import type { StoredEvent } from "../cluster-state.js";
import { DECISION_LABELS, type Decision, isTerminal, type Place } from "./data.js";
import type { Viewer } from "./session.js";

type Html = ReturnType<typeof html>;

export const DASHBOARD = "/dashboard";
export const envPath = (p: { project: string; environment: string }) =>
  `${DASHBOARD}/projects/${encodeURIComponent(p.project)}/environments/${encodeURIComponent(p.environment)}`;
export const releasePath = (p: { project: string; environment: string }, id: string) =>
  `${envPath(p)}/releases/${encodeURIComponent(id)}`;

/** What a live section follows: the release's stream and the last event already on the page. */
interface Live {
  url: string;
  after: number;
}

export function layout(input: { title: string; viewer: Viewer | undefined; body: Html; live?: Live }): Html {
  const { title, viewer, body, live } = input;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} &middot; rollway</title>
<link rel="stylesheet" href="${DASHBOARD}/assets/dashboard.css">
<link rel="icon" href="${DASHBOARD}/assets/favicon.svg" type="image/svg+xml">
${live ? html`<script src="${DASHBOARD}/assets/live.js" defer></script>` : ""}
</head>
<body${live ? html` data-live-url="${live.url}" data-live-after="${String(live.after)}"` : ""}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="${DASHBOARD}">rollway</a>
<nav aria-label="Account">${
    viewer
      ? html`<span class="who">Signed in as <strong>${viewer.label}</strong></span>${
          viewer.kind === "token"
            ? html`<form method="post" action="${DASHBOARD}/sign-out" class="inline"><input type="hidden" name="csrf" value="${viewer.csrf}"><button type="submit" class="link">Sign out</button></form>`
            : ""
        }`
      : html`<a href="${DASHBOARD}/sign-in">Sign in</a>`
  }</nav>
</header>
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>`;
}

export function signInPage(input: { csrf: string; error?: string; proxyHeader?: string }): Html {
  return html`<h1>Sign in</h1>
<p>Paste one of this server's tokens. It is checked once and not kept: your browser keeps just a sealed session
cookie, which holds no token.</p>
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ""}
<form method="post" action="${DASHBOARD}/sign-in" class="stack">
<input type="hidden" name="csrf" value="${input.csrf}">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<label for="name">Your name <span class="hint">(recorded with your approvals; optional)</span></label>
<input id="name" name="name" type="text" maxlength="100" autocomplete="name">
<button type="submit">Sign in</button>
</form>
${
  input.proxyHeader
    ? html`<p class="hint">Single sign-on is configured: open this page through your organisation's proxy.</p>`
    : ""
}`;
}

export function environmentsPage(places: Place[]): Html {
  return html`<h1>Environments</h1>
${
  places.length === 0
    ? html`<p>No environment you may read is configured on this server.</p>`
    : html`<ul class="cards">${places.map(
        (p) =>
          html`<li><a href="${envPath(p)}"><strong>${p.project}</strong> / ${p.environment}</a> <span class="hint">namespace ${p.namespace}</span></li>`,
      )}</ul>`
}`;
}

const images = (list: { image: string }[] | undefined) =>
  list && list.length > 0 ? list.map((i) => i.image).join(", ") : undefined;

/** Why a component does not move on, in the controller's words, when it is not simply healthy. */
const stuckReason = (c: ComponentStatus) => (c.phase === "Healthy" ? "" : c.message || c.phase);

function componentRows(env: Environment, status: EnvironmentStatus, running: ReleaseRecord | undefined) {
  return status.components.map((c) => {
    const stable = images(c.stableImages);
    const next = images(c.images);
    const changing = next !== undefined && next !== stable;
    const ready = `${c.updatedReadyReplicas ?? (changing ? 0 : c.readyReplicas)}/${c.desiredReplicas}`;
    const preview =
      changing && c.endpoints.preview && env.previewHost
        ? html`<a href="https://${env.previewHost}/" rel="noreferrer noopener" target="_blank">${env.previewHost}</a>`
        : html`<span class="hint">&mdash;</span>`;
    const planned = running?.plan.components.find((p) => p.name === c.component);
    return html`<tr data-component="${c.component}">
<th scope="row" data-label="Component">${c.component}<span class="hint block">${c.kind} ${c.name}</span></th>
<td data-label="Serving"><code>${stable ?? "unknown"}</code></td>
<td data-label="New">${changing ? html`<code>${next}</code>` : html`<span class="hint">&mdash;</span>`}${
      planned?.image.changed && !changing
        ? html`<span class="hint block">release: <code>${planned.image.to}</code></span>`
        : ""
    }</td>
<td data-label="Phase"><span class="phase phase-${c.phase.toLowerCase()}">${c.phase}</span></td>
<td data-label="New ready">${ready}</td>
<td data-label="Preview">${preview}</td>
<td data-label="Why stuck / step"><span data-step-for="${c.component}">${stuckReason(c)}</span></td>
</tr>`;
  });
}

export function environmentPage(input: {
  place: Place;
  env: Environment;
  status: EnvironmentStatus;
  running: ReleaseRecord | undefined;
  events: StoredEvent[];
  actions: Html;
}): Html {
  const { place, env, status, running, events } = input;
  return html`<p class="crumbs"><a href="${DASHBOARD}">Environments</a> / ${place.project}</p>
<h1>${place.environment} <span class="hint">namespace ${status.namespace}</span></h1>
<p class="tabs"><a href="${envPath(place)}" aria-current="page">Components</a> <a href="${envPath(place)}/releases">History</a></p>
${
  running
    ? html`<section class="running" aria-labelledby="running-title">
<h2 id="running-title">Running release <a href="${releasePath(place, running.id)}"><code>${running.id}</code></a></h2>
<p>State: <strong class="state state-${running.state}" data-state>${running.state}</strong>${running.abortRequested ? html` (abort requested by ${running.abortRequested.by})` : ""}</p>
${input.actions}
${eventList(events.slice(-8), "Latest steps")}
</section>`
    : html`<p class="calm">No release is running.${
        status.release
          ? html` Latest: <a href="${releasePath(place, status.release.id)}"><code>${status.release.id}</code></a> ${status.release.state}.`
          : ""
      }</p>`
}
<h2>Components</h2>
<div class="table-wrap">
<table class="components">
<thead><tr><th scope="col">Component</th><th scope="col">Serving</th><th scope="col">New</th><th scope="col">Phase</th><th scope="col">New ready</th><th scope="col">Preview</th><th scope="col">Why stuck / step</th></tr></thead>
<tbody>${componentRows(env, status, running)}</tbody>
</table>
</div>`;
}

export function eventList(events: StoredEvent[], title: string): Html {
  return html`<h3>${title}</h3>
<ol class="log" id="log" aria-live="polite">${events.map(eventItem)}</ol>`;
}

const eventItem = (e: StoredEvent) =>
  html`<li class="ev-${e.type}"><time datetime="${e.at}">${e.at.slice(11, 19)}</time> <span class="type">${e.type}</span> ${e.message}</li>`;

export function historyPage(place: Place, records: ReleaseRecord[]): Html {
  return html`<p class="crumbs"><a href="${DASHBOARD}">Environments</a> / ${place.project} / <a href="${envPath(place)}">${place.environment}</a></p>
<h1>History of ${place.environment}</h1>
<p class="tabs"><a href="${envPath(place)}">Components</a> <a href="${envPath(place)}/releases" aria-current="page">History</a></p>
${
  records.length === 0
    ? html`<p>No release yet.</p>`
    : html`<div class="table-wrap"><table class="history">
<thead><tr><th scope="col">Release</th><th scope="col">State</th><th scope="col">Started</th><th scope="col">Changes</th><th scope="col">Decisions</th></tr></thead>
<tbody>${records.map(
        (r) => html`<tr>
<th scope="row" data-label="Release"><a href="${releasePath(place, r.id)}"><code>${r.id}</code></a>${r.rollbackOf ? html`<span class="hint block">rolls back ${r.rollbackOf}</span>` : ""}</th>
<td data-label="State"><span class="state state-${r.state}">${r.state}</span>${r.message ? html`<span class="hint block">${r.message}</span>` : ""}</td>
<td data-label="Started"><time datetime="${r.startedAt}">${r.startedAt.replace("T", " ").slice(0, 19)}</time></td>
<td data-label="Changes">${changes(r)}</td>
<td data-label="Decisions">${decisionsOf(r)}</td>
</tr>`,
      )}</tbody></table></div>`
}`;
}

const changes = (r: ReleaseRecord) => {
  const changed = r.plan.components.filter((c) => c.image.changed || c.config?.changed);
  return changed.length === 0
    ? html`<span class="hint">none</span>`
    : html`<ul class="plain">${changed.map((c) => html`<li>${c.name}: <code>${c.image.to}</code></li>`)}</ul>`;
};

const decisionsOf = (r: ReleaseRecord) => {
  const items = [
    ...r.approvals.map((a) => ({
      what: a.gate === "promotion" ? "promoted" : `approved ${a.gate}`,
      by: a.by,
      at: a.at,
    })),
    ...(r.abortRequested ? [{ what: "abort", by: r.abortRequested.by, at: r.abortRequested.at }] : []),
  ];
  return items.length === 0
    ? html`<span class="hint">none</span>`
    : html`<ul class="plain">${items.map(
        (i) =>
          html`<li>${i.what} by <strong>${i.by}</strong> at <time datetime="${i.at}">${i.at.replace("T", " ").slice(0, 19)}</time></li>`,
      )}</ul>`;
};

export function releasePage(input: {
  place: Place;
  record: ReleaseRecord;
  events: StoredEvent[];
  actions: Html;
}): Html {
  const { place, record: r, events } = input;
  return html`<p class="crumbs"><a href="${DASHBOARD}">Environments</a> / ${place.project} / <a href="${envPath(place)}">${place.environment}</a> / <a href="${envPath(place)}/releases">History</a></p>
<h1>Release <code>${r.id}</code></h1>
<dl class="facts">
<dt>State</dt><dd><strong class="state state-${r.state}" data-state>${r.state}</strong>${r.message ? html` &mdash; ${r.message}` : ""}</dd>
<dt>Started</dt><dd><time datetime="${r.startedAt}">${r.startedAt.replace("T", " ").slice(0, 19)}</time></dd>
${r.finishedAt ? html`<dt>Finished</dt><dd><time datetime="${r.finishedAt}">${r.finishedAt.replace("T", " ").slice(0, 19)}</time></dd>` : ""}
${r.rollbackOf ? html`<dt>Rolls back</dt><dd><a href="${releasePath(place, r.rollbackOf)}"><code>${r.rollbackOf}</code></a></dd>` : ""}
<dt>Decisions</dt><dd>${decisionsOf(r)}</dd>
<dt>Preview</dt><dd>${isTerminal(r.state) ? html`<span class="hint">&mdash;</span>` : html`<a href="https://${r.plan.previewHost}/" rel="noreferrer noopener" target="_blank">${r.plan.previewHost}</a>`}</dd>
</dl>
${input.actions}
<h2>Components</h2>
<div class="table-wrap"><table class="components">
<thead><tr><th scope="col">Component</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Step</th></tr></thead>
<tbody>${r.plan.components.map(
    (c) => html`<tr data-component="${c.name}">
<th scope="row" data-label="Component">${c.name}</th>
<td data-label="From"><code>${c.image.from ?? "none"}</code></td>
<td data-label="To">${c.image.changed ? html`<code>${c.image.to}</code>` : html`<span class="hint">unchanged</span>`}</td>
<td data-label="Step"><span data-step-for="${c.name}">${lastStepOf(events, c.name)}</span></td>
</tr>`,
  )}</tbody></table></div>
${eventList(events, "Event log")}`;
}

const lastStepOf = (events: StoredEvent[], component: string) =>
  events.findLast((e) => e.component === component)?.type ?? "";

/** The buttons a viewer with the approve scope gets: each opens a confirm page (a GET: nothing changes yet). */
export function actionLinks(place: Place, record: ReleaseRecord, decisions: Decision[]): Html {
  if (decisions.length === 0) return html``;
  return html`<p class="actions">${decisions.map(
    (d) =>
      html`<a class="button${d === "abort" || d === "rollback" ? " danger" : ""}" href="${releasePath(place, record.id)}/${d}">${DECISION_LABELS[d]}</a> `,
  )}</p>`;
}

export function confirmPage(input: { place: Place; record: ReleaseRecord; decision: Decision; csrf: string }): Html {
  const { place, record, decision } = input;
  const what: Record<Decision, string> = {
    promote: "Every component of this release will serve users. The previous version stops.",
    abort: "Every component goes back to what users had before this release.",
    rollback: "Every component of this release goes back to the images and configs it replaced, as a new release.",
    "approve-code-as-data": "The code-as-data Job of this release will run against the environment's data.",
  };
  return html`<p class="crumbs"><a href="${releasePath(place, record.id)}">Back to release <code>${record.id}</code></a></p>
<h1>${DECISION_LABELS[decision]} <code>${record.id}</code>?</h1>
<p>${what[decision]}</p>
<ul class="plain">${record.plan.components
    .filter((c) => c.image.changed)
    .map(
      (c) => html`<li>${c.name}: <code>${c.image.from ?? "none"}</code> &rarr; <code>${c.image.to}</code></li>`,
    )}</ul>
<form method="post" action="${releasePath(place, record.id)}/${decision}" class="stack">
<input type="hidden" name="csrf" value="${input.csrf}">
<p class="actions"><button type="submit" class="${decision === "abort" || decision === "rollback" ? "danger" : ""}">Yes, ${DECISION_LABELS[decision].toLowerCase()}</button>
<a class="button secondary" href="${releasePath(place, record.id)}">Cancel</a></p>
</form>`;
}

export function resultPage(input: {
  place: Place;
  decision: Decision;
  release: string;
  ok: boolean;
  message: string;
}): Html {
  return html`<h1>${DECISION_LABELS[input.decision]}: ${input.ok ? "done" : "refused"}</h1>
<p class="${input.ok ? "ok" : "error"}" role="status">${input.message}</p>
<p><a class="button" href="${releasePath(input.place, input.release)}">Open release <code>${input.release}</code></a>
<a href="${envPath(input.place)}">Back to ${input.place.environment}</a></p>`;
}

export function messagePage(title: string, message: string): Html {
  return html`<h1>${title}</h1><p>${message}</p><p><a href="${DASHBOARD}">Environments</a></p>`;
}
