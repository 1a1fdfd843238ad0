/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against the server on kube-sim, as
 * `rollway serve --sim` runs it. Screenshots of every page at 375 and 1440 px go to test-artifacts/dashboard/.
 */
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { APPROVE_TOKEN, DEPLOY_TOKEN, readEvents, simServerResource } from "../test-server.js";
import { browserResource, pageResource, screenshots } from "./browser-resource.js";

const deployHeaders = { Authorization: `Bearer ${DEPLOY_TOKEN}`, "Content-Type": "application/json" };
const payloadFor = (tag: string) =>
  JSON.stringify({
    frontend: { image: `my-registry/image-for-frontend:${tag}` },
    backends: {
      images: [`my-registry/image-for-backend-1:${tag}`],
      deployRules: [{ source: "^my-registry/image-for-backend-1:.*$", target: "^backend-1$" }],
    },
  });
/** A user name that would run script if any page echoed it unescaped. */
const HOSTILE_NAME = `Ann <script>alert("xss")</script><img src=x onerror=alert(1)>`;

/**
 * Deploys at once: `startSimServer` hands over the demo world only once it is served (before, its Rollouts took the
 * sim's ready delay, 8 s here, to settle, and a deploy in that time was refused: 409 NOT_STABLE).
 */
async function deploy(base: string, tag: string): Promise<string> {
  const res = await fetch(`${base}/deploy`, { method: "POST", body: payloadFor(tag), headers: deployHeaders });
  const body = (await res.json()) as { releaseId: string; code?: string };
  expect([res.status, body.code]).toEqual([200, undefined]);
  return body.releaseId;
}

const stateOf = async (base: string, id: string) =>
  ((await (await fetch(`${base}/releases/${id}`, { headers: deployHeaders })).json()) as { release: { state: string } })
    .release.state;

async function signIn(page: Page, url: string, token: string, name?: string) {
  await page.goto(`${url}/dashboard`);
  // Not signed in: the dashboard sends the browser to the sign-in page.
  await expect.poll(() => page.url()).toBe(`${url}/dashboard/sign-in`);
  await page.getByLabel("Token").fill(token);
  if (name) await page.getByLabel(/Your name/).fill(name);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${url}/dashboard`);
}

const DEMO = "/dashboard/projects/demo/environments/demo";

// A browser and a cluster per test, on a loaded two-core machine.
describe("the dashboard in chromium", { timeout: 120_000 }, () => {
  it("follows a manual release live to waiting, promotes it with the button, history shows who approved it, and rolls it back", async () => {
    // Pods slow enough that the pages are open well before the previews are ready, even on a loaded machine.
    const server = await simServerResource({ readyDelayMs: 8000 });
    const browser = await browserResource();
    const { page, problems, context } = await pageResource(browser, server.url);

    await page.goto(`${server.url}/dashboard/sign-in`);
    expect((await screenshots(page, "sign-in")).every((s) => s.overflow <= 0)).toBe(true);
    await signIn(page, server.url, APPROVE_TOKEN, HOSTILE_NAME);
    await expect.poll(() => page.getByRole("link", { name: /demo/ }).count()).toBe(1);
    await screenshots(page, "environments");

    // The token is in no cookie, URL or storage of the browser: only the session id is.
    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name)).toEqual(["rollway_session"]);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/dashboard" });
    expect(JSON.stringify(await context.storageState())).not.toContain(APPROVE_TOKEN);

    const id = await deploy(server.base, "2.0");
    await page.goto(`${server.url}${DEMO}`);
    expect(await page.locator("[data-state]").textContent()).toBe("applying");
    expect((await screenshots(page, "environment-running")).map((s) => s.overflow <= 0)).toEqual([true, true]);
    await page.getByRole("link", { name: id }).click();
    await page.waitForURL(`${server.url}${DEMO}/releases/${id}`);
    expect(await page.locator("[data-state]").textContent()).toBe("applying");
    // Live: the events arrive on the open page (no reload by the test) until the release waits for approval.
    await expect
      .poll(() => page.locator("#log li").allTextContents(), { timeout: 20_000 })
      .toEqual(expect.arrayContaining([expect.stringContaining("preview-ready")]));
    await expect
      .poll(() => page.locator("[data-state]").textContent(), { timeout: 20_000 })
      .toBe("waiting-for-approval");
    expect(await page.locator("[data-step-for=frontend]").textContent()).not.toBe("");
    await screenshots(page, "release-waiting");

    // Promote, by keyboard: the button is a link to a confirm page, then a form post.
    await page.getByRole("link", { name: "Promote" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(`${server.url}${DEMO}/releases/${id}/promote`);
    expect(await page.locator("h1").textContent()).toBe(`Promote ${id}?`);
    await screenshots(page, "confirm-promote");
    await page.getByRole("button", { name: "Yes, promote" }).click();
    await expect.poll(() => page.locator("h1").textContent()).toBe("Promote: done");
    expect(await page.getByRole("status").textContent()).toContain(id);
    await screenshots(page, "result-promote");
    await readEvents(`${server.base}/releases/${id}/events`, deployHeaders);
    expect(await stateOf(server.base, id)).toBe("promoted");

    await page.goto(`${server.url}${DEMO}/releases`);
    const row = page.locator("table.history tbody tr").first();
    expect(await row.locator(".state").textContent()).toBe("promoted");
    // The hostile name shows as text and runs nothing.
    expect(await row.locator("td[data-label=Decisions]").textContent()).toContain(
      `promoted by ${HOSTILE_NAME} (token:`,
    );
    expect(await page.locator("main script, main img").count()).toBe(0);
    await screenshots(page, "history");

    await page.goto(`${server.url}${DEMO}/releases/${id}`);
    expect(await page.locator("tr[data-component=frontend] td[data-label=To]").textContent()).toBe(
      "my-registry/image-for-frontend:2.0",
    );
    expect(await page.getByRole("link", { name: "Roll back" }).count()).toBe(1);
    await screenshots(page, "release-promoted");
    await page.goto(`${server.url}${DEMO}`);
    await screenshots(page, "environment-calm");

    // Roll it back: a new release that puts every component back, shown with its result.
    await page.goto(`${server.url}${DEMO}/releases/${id}`);
    await page.getByRole("link", { name: "Roll back" }).click();
    await page.getByRole("button", { name: "Yes, roll back" }).click();
    await expect.poll(() => page.locator("h1").textContent()).toBe("Roll back: done");
    const rollback = /Rollback started as release (\S+)\./.exec(
      (await page.getByRole("status").textContent()) ?? "",
    )?.[1];
    expect(rollback).toMatch(/^demo-/);
    await readEvents(`${server.base}/releases/${rollback}/events`, deployHeaders);
    await page.goto(`${server.url}${DEMO}/releases`);
    expect(await page.locator("table.history tbody tr").first().textContent()).toContain(`rolls back ${id}`);
    expect(problems).toEqual([]);
  });

  it("aborts a waiting release from its page, and every component serves the old image again", async () => {
    const server = await simServerResource();
    const browser = await browserResource();
    const { page, problems } = await pageResource(browser, server.url);
    await signIn(page, server.url, APPROVE_TOKEN);
    const id = await deploy(server.base, "3.0");
    await readEvents(`${server.base}/releases/${id}/events`, deployHeaders, (events) =>
      events.some((e) => e.event === "waiting-for-approval"),
    );
    await page.goto(`${server.url}${DEMO}/releases/${id}`);
    await page.getByRole("link", { name: "Abort" }).click();
    await screenshots(page, "confirm-abort");
    await page.getByRole("button", { name: "Yes, abort" }).click();
    await expect.poll(() => page.locator("h1").textContent()).toBe("Abort: done");
    await page.getByRole("link", { name: `Open release ${id}` }).click();
    // The release page follows the abort live to its end.
    await expect.poll(() => page.locator("[data-state]").textContent(), { timeout: 20_000 }).toBe("aborted");
    await screenshots(page, "release-aborted");
    const ro = (await (
      await fetch(`${server.cluster.sim.url}/apis/argoproj.io/v1alpha1/namespaces/demo/rollouts/frontend`)
    ).json()) as { spec: { template: { spec: { containers: { image: string }[] } } } };
    expect(ro.spec.template.spec.containers[0]?.image).toBe("my-registry/image-for-frontend:1.0");
    expect(problems).toEqual([]);
  });

  it("shows a deploy-scope token no buttons and refuses its forged posts, and an approve session's post without the form's token", async () => {
    const server = await simServerResource();
    const browser = await browserResource();
    const id = await deploy(server.base, "4.0");
    await readEvents(`${server.base}/releases/${id}/events`, deployHeaders, (events) =>
      events.some((e) => e.event === "waiting-for-approval"),
    );

    const reader = await pageResource(browser, server.url);
    await signIn(reader.page, server.url, DEPLOY_TOKEN);
    await reader.page.goto(`${server.url}${DEMO}/releases/${id}`);
    expect(await reader.page.locator("[data-state]").textContent()).toBe("waiting-for-approval");
    expect(await reader.page.locator(".actions a, .actions button").count()).toBe(0);
    await screenshots(reader.page, "release-read-only");
    // Its own session's CSRF token (from the sign-out form) does not make it an approver.
    const csrf = (await reader.page.locator("input[name=csrf]").first().getAttribute("value")) as string;
    const confirm = await reader.page.goto(`${server.url}${DEMO}/releases/${id}/promote`);
    expect(confirm?.status()).toBe(403);
    const forged = await reader.page.request.post(`${server.url}${DEMO}/releases/${id}/promote`, {
      form: { csrf },
      headers: { Origin: server.url },
    });
    expect(forged.status()).toBe(403);
    expect(await stateOf(server.base, id)).toBe("waiting-for-approval");

    const approver = await pageResource(browser, server.url);
    await signIn(approver.page, server.url, APPROVE_TOKEN);
    const own = async (): Promise<string> => {
      await approver.page.goto(`${server.url}${DEMO}/releases/${id}/abort`);
      return (await approver.page.locator("form input[name=csrf]").last().getAttribute("value")) as string;
    };
    // Without the form's token, with another session's, or from another site: refused, nothing changes.
    for (const [form, headers] of [
      [{}, {}],
      [{ csrf }, {}],
      [{ csrf: await own() }, { Origin: "https://evil.example" }],
    ] as const) {
      const res = await approver.page.request.post(`${server.url}${DEMO}/releases/${id}/abort`, { form, headers });
      expect(res.status()).toBe(403);
    }
    expect(await stateOf(server.base, id)).toBe("waiting-for-approval");

    // Without JavaScript the pages read the same (the event log is server-rendered).
    const noScript = await pageResource(browser, server.url, { javaScript: false });
    await signIn(noScript.page, server.url, DEPLOY_TOKEN);
    await noScript.page.goto(`${server.url}${DEMO}/releases/${id}`);
    expect(await noScript.page.locator("#log li").allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("waiting-for-approval")]),
    );
    // The only failed load is the confirm page the test asked for and was refused.
    expect(reader.problems).toEqual([
      "console error: Failed to load resource: the server responded with a status of 403 (Forbidden)",
    ]);
    expect([...approver.problems, ...noScript.problems]).toEqual([]);
  });
});
