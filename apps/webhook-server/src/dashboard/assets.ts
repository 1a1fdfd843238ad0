/**
 * The dashboard's only static files, served from this process (no CDN, no web font: it works in a cluster with
 * no internet). The script only enhances: every page reads the same without it.
 */

export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --line: #d0d7de; --accent: #0a58ca;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --panel: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #30363d;
  --accent: #4493f8; --ok: #3fb950; --warn: #d29922; --bad: #f85149; --panel: #161b22; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, main:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
code { font: 0.875em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.skip { position: absolute; left: -9999px; } .skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; z-index: 1; }
.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { font-weight: 700; font-size: 1.15rem; text-decoration: none; color: var(--fg); }
.top nav { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; }
main { max-width: 1400px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; overflow-wrap: anywhere; } h2 { font-size: 1.25rem; margin-top: 2rem; } h3 { font-size: 1.05rem; }
.hint { color: var(--muted); font-size: .875rem; } .block { display: block; }
.crumbs { color: var(--muted); margin: 0; } .tabs { display: flex; gap: 1rem; } .tabs a[aria-current] { font-weight: 700; color: var(--fg); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .5rem .6rem; border-bottom: 1px solid var(--line); }
thead th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
.phase, .state { font-weight: 600; }
.phase-healthy, .state-promoted { color: var(--ok); } .phase-paused, .phase-progressing, .state-waiting-for-approval, .state-applying, .state-promoting { color: var(--warn); }
.phase-degraded, .phase-aborted, .state-failed, .state-aborted, .state-aborting, .state-rolled-back { color: var(--bad); }
.running { border: 1px solid var(--line); border-left: 4px solid var(--warn); border-radius: 6px; padding: .25rem 1rem 1rem; background: var(--panel); }
.calm { color: var(--muted); }
.log { list-style: none; padding: 0; margin: 0; font-size: .9rem; }
.log li { padding: .3rem 0; border-bottom: 1px dashed var(--line); overflow-wrap: anywhere; }
.log time { color: var(--muted); font-variant-numeric: tabular-nums; } .log .type { font-weight: 600; }
.plain { list-style: none; padding: 0; margin: 0; }
.cards { list-style: none; padding: 0; display: grid; gap: .75rem; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); }
.cards li { border: 1px solid var(--line); border-radius: 6px; padding: 1rem; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; }
button, .button { display: inline-block; font: inherit; font-weight: 600; padding: .55rem 1rem; min-height: 44px; border-radius: 6px;
  border: 1px solid var(--accent); background: var(--accent); color: #fff; text-decoration: none; cursor: pointer; }
.button.secondary { background: transparent; color: var(--accent); }
.danger, .button.danger { background: var(--bad); border-color: var(--bad); }
button.link { background: none; border: none; color: var(--accent); padding: 0; min-height: 0; text-decoration: underline; font-weight: 400; }
.inline { display: inline; }
.stack { display: grid; gap: .5rem; max-width: 28rem; }
input[type=text], input[type=password] { font: inherit; padding: .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
.error { color: var(--bad); font-weight: 600; } .ok { color: var(--ok); font-weight: 600; }
@media (max-width: 700px) {
  main { padding: .75rem 1rem 2rem; } .top { padding: .75rem 1rem; }
  table, thead, tbody, tr, th, td { display: block; width: 100%; }
  thead { position: absolute; left: -9999px; }
  tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: .75rem; padding: .25rem .5rem; }
  th, td { border: none; padding: .25rem 0; }
  td[data-label]::before { content: attr(data-label); display: block; font-size: .75rem; text-transform: uppercase; color: var(--muted); }
  .facts { grid-template-columns: 1fr; } .facts dd { margin-bottom: .5rem; }
}
`;

/**
 * Follows the page's release: appends each event to the log (as text, never as HTML), shows each component's last
 * step, and reloads the page (server-rendered again) when the release changes state, so buttons and facts are
 * always the server's.
 */
export const LIVE_JS = `"use strict";
(function () {
  var body = document.body;
  var url = body.getAttribute("data-live-url");
  if (!url || !window.EventSource) return;
  var after = body.getAttribute("data-live-after") || "0";
  var RELOAD = ["waiting-for-approval", "approved", "promoting", "upgrade-done", "aborting", "aborted", "failed"];
  var source = new EventSource(url + "?after=" + encodeURIComponent(after));
  var log = document.getElementById("log");
  var reloading = false;
  function reload() {
    if (reloading) return;
    reloading = true;
    source.close();
    setTimeout(function () { window.location.reload(); }, 150);
  }
  source.addEventListener("step", function (message) {
    var event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    if (log) {
      var li = document.createElement("li");
      li.className = "ev-" + event.type;
      var time = document.createElement("time");
      time.dateTime = event.at;
      time.textContent = String(event.at).slice(11, 19);
      var type = document.createElement("span");
      type.className = "type";
      type.textContent = event.type;
      li.appendChild(time);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(type);
      li.appendChild(document.createTextNode(" " + event.message));
      log.appendChild(li);
    }
    if (event.component) {
      var cells = document.querySelectorAll("[data-step-for]");
      for (var i = 0; i < cells.length; i++) {
        if (cells[i].getAttribute("data-step-for") === event.component) cells[i].textContent = event.type;
      }
    }
    if (RELOAD.indexOf(event.type) >= 0) reload();
  });
  source.addEventListener("end", reload);
})();
`;

/** A small mark for the tab (and so that browsers do not ask for /favicon.ico). */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0a58ca"/><path d="M4 11h8M4 8h5M4 5h8" stroke="#fff" stroke-width="1.6" stroke-linecap="round"/></svg>`;
