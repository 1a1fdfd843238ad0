/** The dashboard over HTTP: single sign-on through a trusted proxy only, headers, sign-in refusals. */
import { describe, expect, it } from "vitest";
import { simServerResource } from "../test-server.js";
import { DASHBOARD_CSP } from "./index.js";

const DEMO = "/dashboard/projects/demo/environments/demo";
const proxyAuth = (proxies: string[]) => ({
  proxyAuth: {
    userHeader: "X-Forwarded-Email",
    proxies,
    grants: [
      { users: ["ann@example.com"], scope: "approve" as const, project: "demo", environment: "demo" },
      { users: ["*"], scope: "deploy" as const, project: "demo", environment: "*" },
    ],
  },
});

describe("the dashboard over HTTP", () => {
  it("believes the proxy's user header from the configured proxy address only", async () => {
    const trusted = await simServerResource({ config: { dashboard: { ...proxyAuth(["127.0.0.1"]) } as never } });
    const page = await fetch(`${trusted.url}${DEMO}`, { headers: { "X-Forwarded-Email": "ann@example.com" } });
    expect(page.status).toBe(200);
    const body = await page.text();
    expect(body).toContain("Signed in as <strong>ann@example.com</strong>");
    expect(page.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    // A reader by the grant for "*": the page, no sign-out form (the proxy signs out).
    const reader = await fetch(`${trusted.url}${DEMO}`, { headers: { "X-Forwarded-Email": "bob@example.com" } });
    expect(reader.status).toBe(200);
    // A user with no grant at all is refused.
    const none = await fetch(`${trusted.url}/dashboard/projects/other/environments/demo`, {
      headers: { "X-Forwarded-Email": "bob@example.com" },
    });
    expect(none.status).toBe(403);

    // The same header from an address that is not the proxy's is ignored: sign in first.
    const untrusted = await simServerResource({ config: { dashboard: { ...proxyAuth(["10.9.9.9"]) } as never } });
    const ignored = await fetch(`${untrusted.url}${DEMO}`, {
      headers: { "X-Forwarded-Email": "ann@example.com" },
      redirect: "manual",
    });
    expect(ignored.status).toBe(303);
    expect(ignored.headers.get("location")).toBe("/dashboard/sign-in");
  });

  it("refuses a sign-in without the form's token or with an unknown token, and says nothing of the token", async () => {
    const server = await simServerResource();
    const form = await fetch(`${server.url}/dashboard/sign-in`);
    const cookie = (form.headers.getSetCookie()[0] as string).split(";")[0] as string;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] as string;
    const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/dashboard/sign-in`, {
        method: "POST",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded", cookie, ...headers },
        body: new URLSearchParams(body),
      });
    expect((await post({ token: server.tokens.approve })).status).toBe(403);
    expect((await post({ csrf, token: server.tokens.approve }, { Origin: "https://evil.example" })).status).toBe(403);
    const unknown = await post({ csrf, token: "not-a-token-of-this-server-<script>" });
    expect(unknown.status).toBe(401);
    expect(await unknown.text()).not.toContain("not-a-token");
    const ok = await post({ csrf, token: server.tokens.approve });
    expect(ok.status).toBe(303);
    const session = ok.headers.getSetCookie().find((c) => c.startsWith("rollway_session="));
    expect(session).toMatch(/HttpOnly; SameSite=Strict/);
    expect(session).not.toContain(server.tokens.approve);
    expect(server.logs.join("\n")).not.toContain(server.tokens.approve);
  });
});
