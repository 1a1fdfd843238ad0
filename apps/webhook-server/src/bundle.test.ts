/**
 * What the container's entry (`dist/main.js`, built) loads at start, seen from outside: a module hook in the server's
 * own Node process lists every file it loads (no rollway module is replaced). A server with a cluster and no
 * notifications file never loads the notifications code (its schemas, templates and nodemailer: ~9 MiB of heap);
 * with one it does. And the code it loads at start is ASCII (one character past U+00FF made V8 hold the 1.7 MB
 * bundle as UTF-16).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { keepEntryAscii } from "../tsup.config.js";
import { startDemoCluster } from "./sim.js";

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const TOKEN = "bundle-test-deploy-token-0123456789abcdef";
/**
 * Reports every module the process loads on stderr, one `LOADED <url>` line each (Node's module hooks). Written straight
 * to the file descriptor: the hook runs on the loader's own thread, whose process.stderr is relayed to the main thread
 * later, and lines could be lost if the process ends first.
 */
const HOOK = `data:text/javascript,${encodeURIComponent(
  `import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent("import { writeSync } from 'node:fs'; export async function load(url, context, next) { writeSync(2, 'LOADED ' + url + '\\\\n'); return next(url, context); }"));`,
)}`;

async function loadedBy(files: { notifications?: string } = {}): Promise<string[]> {
  const cluster = await startDemoCluster({ readyDelayMs: 20 });
  onTestFinished(() => cluster.close());
  const dir = mkdtempSync(join(tmpdir(), "rollway-bundle-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, "server.yaml");
  let text = `environments:\n  - { project: demo, environment: demo, file: ${cluster.environmentFile} }\n`;
  if (files.notifications) {
    writeFileSync(join(dir, "notifications.yaml"), files.notifications);
    text += `notifications:\n  - { file: ${join(dir, "notifications.yaml")} }\n`;
  }
  writeFileSync(config, text);
  const child: ChildProcess = spawn(process.execPath, ["--import", HOOK, main], {
    env: {
      PATH: process.env.PATH ?? "",
      RECHECK_BACKEND: "pure",
      ROLLWAY_HOST: "127.0.0.1",
      ROLLWAY_PORT: "0",
      ROLLWAY_LOG_LEVEL: "info",
      ROLLWAY_CONFIG: config,
      ROLLWAY_KUBECONFIG: cluster.sim.kubeconfigPath,
      ROLLWAY_TOKENS: JSON.stringify([{ scope: "deploy", project: "demo", environment: "demo", tokens: [TOKEN] }]),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => void child.kill());
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  // Started when it logs "listening" (after the subscribers are wired).
  await new Promise<void>((resolve, reject) => {
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (stdout.includes('"msg":"listening"')) resolve();
    });
    child.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening:\n${stderr}`)));
  });
  return [...stderr.matchAll(/^LOADED (file:\S+)$/gm)].map((m) => fileURLToPath(m[1] as string));
}

const holdsNodemailer = (files: string[]) => files.filter((f) => readFileSync(f, "utf8").includes("nodemailer"));

describe("the built server's start-up code", () => {
  it("the server does not load notifications when none are configured", async () => {
    const loaded = await loadedBy();
    expect(loaded).toContain(main);
    expect(holdsNodemailer(loaded)).toEqual([]);
  }, 60_000);

  it("loads them when a notifications file is configured", async () => {
    const loaded = await loadedBy({
      notifications: `apiVersion: rollway.dev/v1alpha1
kind: Notifications
environment: demo
destinations:
  chat: { type: slack, url: { file: /dev/null } }
subscriptions:
  - on: [release-started]
    to: [chat]
`,
    });
    expect(holdsNodemailer(loaded).length).toBeGreaterThan(0);
  }, 60_000);

  it("is ASCII: dist/main.js and every chunk it imports at start", () => {
    const files = keepEntryAscii(main);
    expect(files.length).toBeGreaterThan(1);
    // Byte by byte: latin1 maps each byte >= 0x80 to one character >= U+0080.
    for (const file of files)
      expect([file, readFileSync(file, "latin1").search(/[\u0080-\uffff]/)]).toEqual([file, -1]);
  });
});
