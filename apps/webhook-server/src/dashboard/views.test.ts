/** The pages escape whatever users put in image names, messages and names (a table of hostile inputs). */
import type { Environment, EnvironmentStatus, ReleaseRecord } from "@rollway/release";
import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../cluster-state.js";
import { actionLinks, confirmPage, environmentPage, historyPage, layout, releasePage } from "./views.js";

const HOSTILE = [
  `<script>alert(1)</script>`,
  `"><img src=x onerror=alert(1)>`,
  `'><svg onload=alert(1)>`,
  `javascript:alert(1)`,
  `</code></td></tr></table><script>x</script>`,
];
const place = { project: "shop", environment: "prod", name: "prod", namespace: "shop" };

function world(evil: string) {
  const record = {
    id: "prod-20261206-1",
    environment: "prod",
    namespace: "shop",
    payloadDigest: "d",
    state: "waiting-for-approval",
    engine: "e",
    startedAt: "2026-12-06T10:00:00.000Z",
    updatedAt: "2026-12-06T10:00:00.000Z",
    message: evil,
    approvals: [{ gate: "promotion", by: evil, at: "2026-12-06T10:01:00.000Z" }],
    abortRequested: { by: evil, at: "2026-12-06T10:02:00.000Z" },
    plan: {
      previewHost: "preview.example.com",
      codeAsData: undefined,
      components: [
        { name: "frontend", image: { from: evil, to: `registry/${evil}`, changed: true }, config: undefined },
      ],
    },
  } as unknown as ReleaseRecord;
  const status = {
    environment: "prod",
    namespace: "shop",
    release: record,
    components: [
      {
        component: "frontend",
        kind: "Rollout",
        name: "frontend",
        namespace: "shop",
        phase: "Degraded",
        message: evil,
        images: [{ container: "web", image: `registry/${evil}` }],
        stableImages: [{ container: "web", image: evil }],
        readyReplicas: 1,
        desiredReplicas: 2,
        updatedReplicas: 1,
        endpoints: { preview: { service: "frontend-preview" } },
      },
    ],
  } as unknown as EnvironmentStatus;
  const events: StoredEvent[] = [
    {
      seq: 1,
      type: "warning",
      release: record.id,
      environment: "prod",
      at: record.startedAt,
      message: evil,
      component: "frontend",
    },
  ];
  return { record, status, events, env: { previewHost: "preview.example.com" } as Environment };
}

describe("dashboard pages", () => {
  it.each(HOSTILE)("escape %s everywhere it appears", async (evil) => {
    const { record, status, events, env } = world(evil);
    const viewer = { kind: "token" as const, label: evil, by: evil, csrf: "c", can: () => true };
    const actions = actionLinks(place, record, ["promote", "abort"]);
    const pages = [
      layout({ title: evil, viewer, body: environmentPage({ place, env, status, running: record, events, actions }) }),
      layout({ title: evil, viewer, body: releasePage({ place, record, events, actions }) }),
      layout({ title: evil, viewer, body: historyPage(place, [record]) }),
      layout({ title: evil, viewer, body: confirmPage({ place, record, decision: "abort", csrf: "c" }) }),
    ];
    for (const page of pages) {
      const html = String(await page);
      // The only script element is the dashboard's own file, and no attribute handler or URL was injected.
      expect(html.match(/<script\b[^>]*>/g) ?? []).toEqual([]);
      expect(html).not.toMatch(/<(img|svg)\b/);
      // Neither a tag nor an attribute can start from the value: it never appears with its < > " ' unescaped.
      if (/[<>"']/.test(evil)) expect(html).not.toContain(evil);
      expect(html).not.toMatch(/href="javascript:/);
      expect(html).toContain(
        evil
          .replace(/&/g, "&amp;")
          .replace(/</g, "&lt;")
          .replace(/>/g, "&gt;")
          .replace(/"/g, "&quot;")
          .replace(/'/g, "&#39;"),
      );
    }
  });
});
