/**
 * `rollway get <workload>` through the built binary against `rollway sim --detach --crash :crash`: the tree of
 * revisions, ReplicaSets with their markers, and pods with status and restarts; `--watch --json` follows changes.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detachedSimForFile } from "../test-helpers/detached-sim.js";
import { bin, rollway, rollwayAsync, waitForOutput } from "../test-helpers/run-cli.js";

const { env } = detachedSimForFile("get", ["--ready-delay", "50", "--crash", ":crash"]);

describe("rollway get", () => {
  it("draws revisions, ReplicaSets with stable/active/preview, and crash-looping pods with their restarts", async () => {
    const watch = rollwayAsync(["get", "backend-1", "--watch", "--json"], env);
    await waitForOutput(watch, /"type":"tree"/, 60_000);
    expect(
      rollway(["rollout", "set-image", "backend-1", "*=my-registry/image-for-backend-1:crash-2"], { env }).code,
    ).toBe(0);
    await waitForOutput(watch, /"status":"CrashLoopBackOff","ready":"0\/1","restarts":[1-9]/, 60_000);
    watch.child.kill("SIGINT");
    const done = await watch.done;
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout.trim().split("\n").at(-1) as string)).toEqual({ type: "done", ok: true });

    const r = rollway(["get", "backend-1"], { env });
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout;
    expect(text).toMatch(
      /^Status: +Progressing my-registry\/image-for-backend-1:1\.0 → my-registry\/image-for-backend-1:crash-2, new 0\/2 ready/m,
    );
    expect(text).toMatch(
      /├── revision:2 {2}preview\n│ {3}└── ReplicaSet \S+ {2}ready 0\/2 {2}my-registry\/image-for-backend-1:crash-2\n│ {7}├── Pod \S+ {2}CrashLoopBackOff {2}ready 0\/1 {2}restarts \d+\n/,
    );
    expect(text).toMatch(
      /└── revision:1 {2}stable,active\n {4}└── ReplicaSet \S+ {2}ready 2\/2 {2}my-registry\/image-for-backend-1:1\.0\n {8}├── Pod \S+ {2}Running {2}ready 1\/1 {2}restarts 0\n/,
    );
  }, 180_000);

  it("says so with exit 2 for a workload that does not exist", () => {
    const r = rollway(["get", "no-such-workload"], { env });
    expect(r.code).toBe(2);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Runs `rollway get <name> --json` until its tree satisfies `ok` (the sim's controllers work in their own time). */
async function treeWhen(name: string, ok: (t: { revisions: { revision: number; markers: string[] }[] }) => boolean) {
  let last = "";
  for (let i = 0; i < 240; i++) {
    const r = rollway(["get", name, "--json"], { env });
    last = r.stdout + r.stderr;
    if (r.code === 0 && ok(JSON.parse(r.stdout))) return JSON.parse(r.stdout);
    await sleep(250);
  }
  throw new Error(`rollway get ${name} never got there:\n${last}`);
}

describe("rollway get, a canary Rollout", () => {
  it("marks the stable ReplicaSet stable and the new one canary while it waits at a step", async () => {
    const manifest = join(env.KUBECONFIG, "..", "canary-web.yaml");
    writeFileSync(
      manifest,
      `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: canary-web, namespace: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: canary-web}}
  template:
    metadata: {labels: {app: canary-web}}
    spec: {containers: [{name: web, image: "my-registry/canary-web:1"}]}
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
`,
    );
    const applied = spawnSync("kubectl", ["--kubeconfig", env.KUBECONFIG, "apply", "-f", manifest], {
      encoding: "utf8",
    });
    expect(applied.status, applied.stderr).toBe(0);
    await treeWhen("canary-web", (t) => t.revisions[0]?.markers.includes("stable") === true);
    const set = rollway(["rollout", "set-image", "canary-web", "web=my-registry/canary-web:2", "-n", "demo"], { env });
    expect(set.code, set.stderr).toBe(0);
    await treeWhen("canary-web", (t) => t.revisions[0]?.markers.includes("canary") === true);
    const text = rollway(["get", "canary-web", "-n", "demo"], { env }).stdout;
    expect(text).toMatch(/^Kind: +Rollout$/m);
    expect(text).toMatch(
      /├── revision:2 {2}canary\n│ {3}└── ReplicaSet \S+ {2}ready \d\/\d {2}my-registry\/canary-web:2\n/,
    );
    expect(text).toMatch(
      /└── revision:1 {2}stable\n {4}└── ReplicaSet \S+ {2}ready \d\/\d {2}my-registry\/canary-web:1\n/,
    );
  }, 180_000);
});

const tmux = (...args: string[]) => spawnSync("tmux", args, { encoding: "utf8" });

describe.each([80, 200])("rollway get --watch at a %i-column terminal", (columns) => {
  it("redraws the tree in place: one tree on the screen, every row within the width", async () => {
    const workload = columns === 80 ? "backend-4" : "backend-5";
    const image = `my-registry/image-for-other-backends:wide-${columns}-a-long-tag-that-makes-the-replicaset-row-long-enough-to-wrap`;
    const session = `rollway-get-${process.pid}-${columns}`;
    // CI=true would turn the live redraw off: this is a person's terminal.
    const command = `env -u CI NO_COLOR=1 KUBECONFIG='${env.KUBECONFIG}' ${process.execPath} ${bin} get ${workload} -n demo --watch; sleep 600`;
    expect(tmux("new-session", "-d", "-s", session, "-x", String(columns), "-y", "40", command).status).toBe(0);
    try {
      const screen = () => tmux("capture-pane", "-p", "-t", session).stdout.split("\n");
      for (let i = 0; i < 240 && !screen().some((l) => l.startsWith("Name:")); i++) await sleep(250);
      expect(rollway(["rollout", "set-image", workload, `*=${image}`, "-n", "demo"], { env }).code).toBe(0);
      // Many redraws: the new ReplicaSet, its pods one by one, the preview getting ready.
      let lines: string[] = [];
      for (let i = 0; i < 240; i++) {
        lines = screen();
        if (
          lines.some((l) => /revision:2 {2}preview/.test(l)) &&
          lines.filter((l) => /Pod .* Running/.test(l)).length >= 4
        )
          break;
        await sleep(250);
      }
      expect(lines.filter((l) => l.startsWith("Name:"))).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith(`Rollout/${workload}`))).toHaveLength(1);
      expect(lines.filter((l) => /revision:2 {2}preview/.test(l))).toHaveLength(1);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(columns);
      // The new revision's ReplicaSet row, right under its revision.
      const replicaSet = lines[lines.findIndex((l) => /revision:2 {2}preview/.test(l)) + 1] as string;
      expect(replicaSet).toMatch(/└── ReplicaSet /);
      if (columns === 80) expect(replicaSet.endsWith("…")).toBe(true);
      else expect(replicaSet.endsWith(image)).toBe(true);
    } finally {
      tmux("kill-session", "-t", session);
    }
  }, 180_000);
});
