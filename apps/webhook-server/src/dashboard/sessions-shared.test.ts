/**
 * #16's caveat: dashboard sessions are sealed cookies, so replicas that share ROLLWAY_SESSION_KEY accept each other's
 * sessions (no session affinity needed). Two real servers over HTTP with one key, a third with another: a session
 * from A works on B (its sign-out form too), a changed cookie is refused everywhere, another key's replica refuses it,
 * and an expired one is refused. The servers have no cluster: a signed-in viewer gets the "No cluster" page (503)
 * under their name, anyone else is sent to sign in (303).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEPLOY_TOKEN, startTestServer, type TestServer } from "../test-server.js";

const KEY = "a-session-key-for-these-tests-0123456789abcdef";
const PAGE = "/dashboard/projects/shop/environments/prod";
const TTL_SECONDS = 600;

const servers: TestServer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of servers.splice(0)) await s.shutdown();
});
const replica = async (sessionKey: string) => {
  const server = await startTestServer({ dashboard: { sessionKey, sessionTtlSeconds: TTL_SECONDS } as never });
  servers.push(server);
  return server;
};

/** Signs in on `server` with the deploy token under the name "alice": the session cookie (`rollway_session=…`). */
async function signIn(server: TestServer): Promise<string> {
  const form = await fetch(`${server.url}/dashboard/sign-in`);
  const cookie = (form.headers.getSetCookie()[0] as string).split(";")[0] as string;
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] as string;
  const signedIn = await fetch(`${server.url}/dashboard/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ csrf, token: DEPLOY_TOKEN, name: "alice" }),
  });
  expect(signedIn.status).toBe(303);
  const session = signedIn.headers.getSetCookie().find((c) => c.startsWith("rollway_session=")) as string;
  expect(session).not.toContain(DEPLOY_TOKEN);
  return session.split(";")[0] as string;
}

const visit = (server: TestServer, cookie?: string) =>
  fetch(`${server.url}${PAGE}`, { redirect: "manual", headers: cookie ? { cookie } : {} });

describe("dashboard sessions shared by replicas (ROLLWAY_SESSION_KEY)", () => {
  it("a session issued by A works on B, and B's page's sign-out form is accepted by A", async () => {
    const [a, b] = [await replica(KEY), await replica(KEY)];
    const cookie = await signIn(a);
    const onB = await visit(b as TestServer, cookie);
    expect(onB.status).toBe(503);
    const page = await onB.text();
    expect(page).toContain("Signed in as <strong>alice</strong>");
    // Without the cookie B sends the visitor to sign in.
    expect((await visit(b as TestServer)).headers.get("location")).toBe("/dashboard/sign-in");
    // The CSRF token is sealed in the session: a form rendered by B is good on A.
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] as string;
    const signOut = await fetch(`${a.url}/dashboard/sign-out`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded", cookie },
      body: new URLSearchParams({ csrf }),
    });
    expect(signOut.status).toBe(303);
    expect(signOut.headers.get("location")).toBe("/dashboard/sign-in");
    expect(signOut.headers.getSetCookie().join("\n")).toMatch(/rollway_session=;/);
  });

  it("refuses a changed cookie on every replica, and a session sealed with another key", async () => {
    const [a, b, other] = [await replica(KEY), await replica(KEY), await replica(`${KEY}-another`)];
    const cookie = await signIn(a);
    const value = cookie.slice("rollway_session=".length);
    const at = Math.floor(value.length / 2);
    const flipped = `rollway_session=${value.slice(0, at)}${value[at] === "A" ? "B" : "A"}${value.slice(at + 1)}`;
    for (const server of [a, b]) {
      const refused = await visit(server as TestServer, flipped);
      expect(refused.status).toBe(303);
      expect(refused.headers.get("location")).toBe("/dashboard/sign-in");
    }
    expect((await visit(other as TestServer, cookie)).status).toBe(303);
    expect((await visit(b as TestServer, "rollway_session=v1.")).status).toBe(303);
    expect((await visit(b as TestServer, cookie)).status).toBe(503);
  });

  it("refuses a session past its expiry (dashboard.sessionTtlSeconds) on any replica", async () => {
    const [a, b] = [await replica(KEY), await replica(KEY)];
    const cookie = await signIn(a);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + (TTL_SECONDS - 5) * 1000);
    expect((await visit(b as TestServer, cookie)).status).toBe(503);
    vi.setSystemTime(Date.now() + 10 * 1000);
    const expired = await visit(b as TestServer, cookie);
    expect(expired.status).toBe(303);
    expect(expired.headers.get("location")).toBe("/dashboard/sign-in");
  });
});
