/**
 * `--server URL --token`: the same commands against a rollway server (apps/webhook-server with kube-sim holding the
 * demo environment), and `rollway serve` starting one; the built binary as a user runs it.
 */
import type { SimServer } from "@rollway/webhook-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollwayAsync, waitForOutput } from "./test-helpers/run-cli.js";
import { startQuietSimServer } from "./test-helpers/sim-server.js";

// A release through the server end to end takes 13-20 s of wall time on a loaded 2-core machine (several CLI
// processes, the server and kube-sim's ready delays): the default budget left too little room on CI.
const releaseBudgetMs = 90_000;

// The server runs in this process: a blocking spawnSync would stop it from answering the CLI, so every run is async.
const rollway = (args: string[], input?: string) => rollwayAsync(args, {}, input).done;

const payload = new URL("../../../packages/payload-schema/examples/seed-004.json", import.meta.url).pathname;
let server: SimServer;
beforeAll(async () => {
  server = await startQuietSimServer();
});
afterAll(async () => {
  await server?.shutdown();
});

const at = (token: string) => ["--server", server.url, "--token", token, "--project", "demo", "--env", "demo"];

describe("--server mode", () => {
  it(
    "deploy --wait follows the release on the server; promote from another process ends it promoted",
    async () => {
      const deploy = rollwayAsync(["deploy", payload, "--wait", ...at(server.tokens.deploy)]);
      const [, id] = await waitForOutput(deploy, /Release (\S+) started on the server/);
      await waitForOutput(deploy, /waiting-for-approval/);
      const promote = await rollway(["promote", id as string, "--by", "alice", ...at(server.tokens.approve)]);
      expect(promote.stderr).toBe("");
      expect(promote.stdout).toContain(`promote of ${id} recorded on the server.`);
      const done = await deploy.done;
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(/upgrade-done +release \S+ promoted/);
      expect(done.stdout).toContain(`Release ${id}: promoted`);
      expect(done.stdout).toMatch(
        /^ {2}backend-1 +my-registry\/image-for-backend-1:1\.0 → my-registry\/image-for-backend-1:tag$/m,
      );

      const history = JSON.parse((await rollway(["history", "--json", ...at(server.tokens.deploy)])).stdout);
      expect(history.releases[0]).toMatchObject({ id, state: "promoted" });
      // The same view as direct mode: the release, then every component's workload.
      const status = await rollway(["status", ...at(server.tokens.deploy)]);
      expect(status.stdout).toContain(`latest release ${id}: promoted`);
      expect(status.stdout).toMatch(
        /^backend-1 +Rollout\/backend-1 +Healthy 2\/2 ready, my-registry\/image-for-backend-1:tag$/m,
      );
      const json = JSON.parse((await rollway(["status", "--json", ...at(server.tokens.deploy)])).stdout);
      expect(json).toMatchObject({ ok: true, environment: "demo", release: { id, state: "promoted" } });
      expect(json.components.map((c: { component: string }) => c.component)).toEqual([
        "frontend",
        "backend-1",
        "backend-2",
        "backend-3",
        "backend-4",
        "backend-5",
      ]);
    },
    releaseBudgetMs,
  );

  it("a refused token is exit code 1 with the fix, and the token is never printed", async () => {
    const token = "wrong-token-000000000000";
    const r = await rollway(["history", ...at(token)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rollway: the server answered HTTP 401: .*; check --token and its scope/);
    expect(r.stdout + r.stderr).not.toContain(token);
  });

  it("checks the payload before sending it: the seed's trailing comma is exit code 2 with line and column", async () => {
    const r = await rollway(["deploy", "-", ...at(server.tokens.deploy)], '{"frontend": {"image": "r/w:1",}}');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\(line 1, column 31\): trailing comma before '}'/);
  });
});

describe("rollway serve", () => {
  it("starts the webhook server, answers /healthz and stops on SIGTERM", async () => {
    const serve = rollwayAsync(["serve", "--port", "0", "--host", "127.0.0.1", "--json"]);
    const [line] = await waitForOutput(serve, /^\{.*\}\n/);
    const { url } = JSON.parse(line) as { url: string };
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    serve.child.kill("SIGTERM");
    expect((await serve.done).code).toBe(0);
  });
});

describe("rollway serve --sim", () => {
  it(
    "starts kube-sim with the demo environment and a server with session tokens; a release runs through it",
    async () => {
      const serve = rollwayAsync(["serve", "--sim", "--port", "0", "--ready-delay", "50", "--json"]);
      try {
        const [line] = await waitForOutput(serve, /^\{.*\}\n/);
        // A start-up failure is a JSON line too ({"type":"done","ok":false,...}): show it rather than a missing field.
        expect(JSON.parse(line)).toMatchObject({ ok: true });
        const info = JSON.parse(line) as {
          url: string;
          base: string;
          dashboard: string;
          tokens: { deploy: string; approve: string };
          kubeconfig: string;
          environmentFile: string;
        };
        expect(info.base).toBe(`${info.url}/v1/projects/demo/environments/demo`);
        expect(info.dashboard).toBe(`${info.url}/dashboard`);
        expect((await fetch(info.dashboard)).status).toBe(200);
        expect(info.tokens.deploy).not.toBe(info.tokens.approve);
        const there = ["--server", info.url, "--token", info.tokens.deploy, "--project", "demo", "--env", "demo"];
        const deploy = rollwayAsync(
          ["deploy", "-", "--wait", ...there],
          {},
          '{"frontend": {"image": "my-registry/image-for-frontend:2.0"}}',
        );
        const [, id] = await waitForOutput(deploy, /Release (\S+) started on the server/);
        await waitForOutput(deploy, /waiting-for-approval/);
        const approver = ["--server", info.url, "--token", info.tokens.approve, "--project", "demo", "--env", "demo"];
        expect((await rollway(["promote", id as string, "--by", "alice", ...approver])).code).toBe(0);
        const done = await deploy.done;
        expect(done.stderr).toBe("");
        expect(done.code).toBe(0);
        expect(done.stdout).toContain(`Release ${id}: promoted`);
        // The cluster behind it is a real kube-sim: the kubeconfig it prints works for direct mode too.
        const direct = await rollwayAsync(["history", "--json", "--kubeconfig", info.kubeconfig], {
          ROLLWAY_ENV: info.environmentFile,
        }).done;
        expect(JSON.parse(direct.stdout).releases[0]).toMatchObject({ state: "promoted" });
      } finally {
        serve.child.kill("SIGTERM");
      }
      expect((await serve.done).code).toBe(0);
    },
    releaseBudgetMs,
  );

  it("refuses a port that is not one, exit code 2", async () => {
    const r = await rollway(["serve", "--sim", "--port", "http"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--port http is not a port");
  });

  it("without --sim, refuses a server setting it cannot start with by its code, CONFIG_INVALID, exit code 2, naming the variable", async () => {
    const r = await rollwayAsync(["serve", "--port", "0", "--host", "127.0.0.1", "--json"], {
      ROLLWAY_TOKENS: "[{not json secret-token-value-0123456789",
    }).done;
    expect(r.code, r.stderr).toBe(2);
    const done = JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
    expect(done).toMatchObject({ type: "done", ok: false, exitCode: 2, error: { code: "CONFIG_INVALID" } });
    expect(done.error.message).toContain("ROLLWAY_TOKENS: expected a JSON array");
    expect(r.stdout + r.stderr).not.toContain("secret-token-value");
  });
});
