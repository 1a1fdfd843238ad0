/**
 * Both modes over one cluster, through the built binary: `rollway serve --sim` holds the cluster and runs releases,
 * the direct mode reads the same cluster through the kubeconfig it prints. `history` must read the same either way;
 * `get <release-id>` shows the event log the server stored; `rollway dashboard` serves that cluster's dashboard.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollwayAsync, waitForOutput } from "./test-helpers/run-cli.js";

const rollway = (args: string[], env: Record<string, string> = {}, input?: string) =>
  rollwayAsync(args, env, input).done;
const lastLine = (text: string) => JSON.parse(text.trim().split("\n").at(-1) as string);

interface ServeInfo {
  url: string;
  tokens: { deploy: string; approve: string };
  kubeconfig: string;
  environmentFile: string;
}
let serve: ReturnType<typeof rollwayAsync>;
let info: ServeInfo;
beforeAll(async () => {
  serve = rollwayAsync(["serve", "--sim", "--port", "0", "--ready-delay", "50", "--json"]);
  const [line] = await waitForOutput(serve, /^\{.*\}\n/, 60_000);
  info = JSON.parse(line) as ServeInfo;
}, 90_000);
afterAll(async () => {
  serve?.child.kill("SIGTERM");
  await serve?.done;
});

const server = (token: string) => ["--server", info.url, "--token", token, "--project", "demo", "--env", "demo"];
const direct = () => ({ KUBECONFIG: info.kubeconfig, ROLLWAY_ENV: info.environmentFile });
const payload = (tag: string) =>
  JSON.stringify({
    backends: {
      images: [`my-registry/image-for-other-backends:${tag}`],
      deployRules: [{ source: ".*", target: "backend-[345]" }],
    },
    noDowntime: { promotionMode: "auto" },
  });

describe("history in direct and server mode", () => {
  let first = "";
  it("is the same text and the same releases for releases run on the server and in this process", async () => {
    const a = await rollway(["deploy", "-", "--wait", "--json", ...server(info.tokens.deploy)], {}, payload("a"));
    expect(a.code, a.stderr).toBe(0);
    first = lastLine(a.stdout).release.id;
    // A rollback run here (direct mode) between two releases run on the server.
    const back = await rollway(["rollback", first, "--json"], direct());
    expect(back.code, back.stderr).toBe(0);
    const b = await rollway(
      ["deploy", "-", "--wait", "--timeout", "60", ...server(info.tokens.deploy)],
      {},
      payload("b"),
    );
    expect(b.code, b.stderr).toBe(0);

    const viaServer = await rollway(["history", ...server(info.tokens.deploy)]);
    const viaCluster = await rollway(["history"], direct());
    expect(viaServer.code).toBe(0);
    expect(viaCluster.code).toBe(0);
    expect(viaServer.stdout).toBe(viaCluster.stdout);
    expect(viaCluster.stdout).toMatch(/^RELEASE +STATE +STARTED +FINISHED +CHANGED +NOTE\n/);
    expect(viaCluster.stdout).toMatch(
      new RegExp(`^${first} +rolled-back +\\S+ +\\S+ +backend-1,backend-3,backend-4,\\+1 +rolled back by \\S+$`, "m"),
    );
    expect(viaCluster.stdout).toMatch(
      new RegExp(`promoted +\\S+ +\\S+ +backend-1,backend-3,backend-4,\\+1 +rollback of ${first}$`, "m"),
    );

    const pick = (r: { id: string; state: string; startedAt: string; finishedAt?: string; rollbackOf?: string }) => ({
      id: r.id,
      state: r.state,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      rollbackOf: r.rollbackOf,
    });
    const jsonServer = JSON.parse((await rollway(["history", "--json", ...server(info.tokens.deploy)])).stdout);
    const jsonCluster = JSON.parse((await rollway(["history", "--json"], direct())).stdout);
    expect(jsonServer.releases.map(pick)).toEqual(jsonCluster.releases.map(pick));
    expect(jsonCluster.releases).toHaveLength(3);
  }, 240_000);

  it("get <release-id> shows the event log the server stored for its release", async () => {
    const r = await rollway(["get", first], direct());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/└── events\n( {4}├── \d\d:\d\d:\d\d \S+ .*\n)+ {4}└── \d\d:\d\d:\d\d \S+ .*\n$/);
    expect(r.stdout).toMatch(/ {4}├── \d\d:\d\d:\d\d started +/);
    expect(r.stdout).toMatch(/upgrade-done +release \S+ promoted: backend-1, backend-3, backend-4, backend-5/);
    const json = JSON.parse((await rollway(["get", first, "--json"], direct())).stdout);
    expect(json.events.map((e: { type: string }) => e.type)).toContain("upgrade-done");
    expect(json.events[0]).toMatchObject({ seq: 1, release: first });
    // It reads the cluster: with --server it says what to use instead, exit 2.
    const remote = await rollway(["get", first, ...server(info.tokens.deploy)]);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain("rollway get reads the cluster itself: give it --kubeconfig");
  });
});

describe("the engine's codes in server mode", () => {
  it("NOT_NEWEST from the server is exit 2 with its code, as in direct mode; --undoing is refused there", async () => {
    const releases = JSON.parse((await rollway(["history", "--json"], direct())).stdout).releases as {
      id: string;
      state: string;
    }[];
    const older = releases.filter((r) => r.state === "promoted")[1]?.id as string;
    expect(older).toBeDefined();
    const viaServer = await rollway(["rollback", older, "--json", ...server(info.tokens.approve)]);
    expect(viaServer.code).toBe(2);
    expect(lastLine(viaServer.stdout)).toMatchObject({ ok: false, exitCode: 2, error: { code: "NOT_NEWEST" } });
    const viaCluster = await rollway(["rollback", older, "--json"], direct());
    expect(viaCluster.code).toBe(2);
    expect(lastLine(viaCluster.stdout)).toMatchObject({ ok: false, exitCode: 2, error: { code: "NOT_NEWEST" } });
    const undoing = await rollway([
      "rollback",
      older,
      "--undoing",
      releases[0]?.id as string,
      ...server(info.tokens.approve),
    ]);
    expect(undoing.code).toBe(2);
    expect(undoing.stderr).toContain("--undoing is not available with --server yet");
  }, 60_000);
});

describe("rollway dashboard", () => {
  it("serves the dashboard of a kubeconfig's cluster on 127.0.0.1 to the session's token, and stops on SIGINT", async () => {
    const dashboard = rollwayAsync(
      ["dashboard", "--kubeconfig", info.kubeconfig, "--env", info.environmentFile, "--port", "0", "--json"],
      {},
    );
    try {
      const [line] = await waitForOutput(dashboard, /^\{.*\}\n/, 60_000);
      const started = JSON.parse(line) as { url: string; token: string; project: string };
      expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard$/);
      expect(started.url).not.toContain(started.token);
      // Not signed in: the sign-in page.
      const anonymous = await fetch(started.url, { redirect: "manual" });
      expect(anonymous.status).toBe(303);
      // Sign in as a person would: the form's CSRF token and cookie, then the session's token.
      const form = await fetch(`${started.url}/sign-in`);
      const signInCookie = (form.headers.getSetCookie()[0] as string).split(";")[0] as string;
      const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] as string;
      const signIn = await fetch(`${started.url}/sign-in`, {
        method: "POST",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded", cookie: signInCookie },
        body: new URLSearchParams({ csrf, token: started.token }),
      });
      expect(signIn.status).toBe(303);
      const session = (signIn.headers.getSetCookie().find((c) => c.startsWith("rollway_session=")) as string).split(
        ";",
      )[0] as string;
      const home = await fetch(started.url, { headers: { cookie: session } });
      expect(home.status).toBe(200);
      expect(await home.text()).toContain(`/dashboard/projects/${started.project}/environments/demo`);
      const page = await fetch(`${started.url}/projects/${started.project}/environments/demo`, {
        headers: { cookie: session },
      });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain("backend-3");
      expect(html).toContain("my-registry/image-for-other-backends");
      // Approve scope: this session is offered the rollback of the newest release.
      const newest = JSON.parse((await rollway(["history", "--json"], direct())).stdout).releases[0].id as string;
      const release = `${started.url}/projects/${started.project}/environments/demo/releases/${newest}`;
      const releasePage = await (await fetch(release, { headers: { cookie: session } })).text();
      expect(releasePage).toContain(
        `href="/dashboard/projects/${started.project}/environments/demo/releases/${newest}/rollback"`,
      );
    } finally {
      dashboard.child.kill("SIGINT");
    }
    const done = await dashboard.done;
    expect(done.code).toBe(0);
  }, 120_000);

  it("refuses to start without an environment, exit 2", async () => {
    const r = await rollway(["dashboard", "--kubeconfig", info.kubeconfig, "--port", "0"], { ROLLWAY_ENV: "" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("rollway dashboard needs the environments to show: pass --env environment.yaml");
  });
});
