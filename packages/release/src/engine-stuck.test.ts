/**
 * What the engine reports while a release runs, as data: `component-stuck` (why a new version does not get ready:
 * the kubelet's reason, the pod, its restarts, the Warning event), the preview URL on the preview and approval
 * events, and the ReleaseError code on `failed` and `aborted`. Against kube-sim, whose faulted pods crash-loop
 * (with BackOff events) or fail to pull their image.
 */
import { describe, expect, it } from "vitest";
import { ReleaseError } from "./errors.js";
import {
  autoPayload,
  eventLog,
  NS,
  releaseSimResource,
  rolloutsPath,
  seedPayload,
} from "./test-helpers/release-sim.js";

describe("component-stuck events", () => {
  it("reports a crash-looping new version once, with the pod's reason, restarts and BackOff event, then fails with code FAILED", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"], readyTimeoutSeconds: 3 });
    k.sim.faults.crashPods({ image: "image-for-frontend:crash" });
    const log = eventLog();
    const failure = await k.engine
      .apply(await k.engine.plan(autoPayload("crash-1"), k.environment), { onEvent: log.onEvent })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ReleaseError);
    expect((failure as ReleaseError).code).toBe("FAILED");

    const stuck = log.events.filter((e) => e.type === "component-stuck");
    expect(stuck).toHaveLength(1);
    expect(stuck[0]).toMatchObject({ component: "frontend", reason: "CrashLoopBackOff" });
    expect(stuck[0]?.message).toMatch(
      /^frontend: my-registry\/image-for-frontend:crash-1 is not getting ready: pod frontend-\w+-\w+: CrashLoopBackOff: back-off \d+s restarting failed container=\S+ pod=\S+, \d+ restarts?, last exit 1 \(Error\); event BackOff: Back-off restarting failed container/,
    );
    // Reported while the release waited, before it gave up.
    expect(log.types().indexOf("component-stuck")).toBeLessThan(log.types().indexOf("aborting"));
    const failed = log.events.find((e) => e.type === "failed");
    expect(failed).toMatchObject({ code: "FAILED" });
  });

  it("reports an image that cannot be pulled by its kubelet reason", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"], readyTimeoutSeconds: 2 });
    k.sim.faults.failImagePull({ image: "image-for-frontend:missing" });
    const log = eventLog();
    await expect(
      k.engine.apply(await k.engine.plan(autoPayload("missing"), k.environment), { onEvent: log.onEvent }),
    ).rejects.toMatchObject({ code: "FAILED" });
    const stuck = log.events.filter((e) => e.type === "component-stuck");
    // The kubelet says ErrImagePull first, ImagePullBackOff 5 s later (if the abort is that slow): each reason once.
    expect(stuck[0]).toMatchObject({ component: "frontend", reason: "ErrImagePull" });
    expect(stuck.map((e) => e.reason)).toEqual(["ErrImagePull", "ImagePullBackOff"].slice(0, stuck.length));
    expect(stuck[0]?.message).toContain("pod frontend-");
    expect(stuck[0]?.message).toContain("0 restarts");
  });

  it("reports a Rollout past its progress deadline as ProgressDeadlineExceeded", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"], readyTimeoutSeconds: 60 });
    const patched = await fetch(`${k.sim.url}${rolloutsPath}/frontend`, {
      method: "PATCH",
      headers: { "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { progressDeadlineSeconds: 1 } }),
    });
    expect(patched.status).toBe(200);
    k.sim.faults.neverReady({ image: "image-for-frontend:slow" });
    const log = eventLog();
    await expect(
      k.engine.apply(await k.engine.plan(autoPayload("slow"), k.environment), { onEvent: log.onEvent }),
    ).rejects.toMatchObject({ code: "FAILED", component: "frontend" });
    const stuck = log.events.filter((e) => e.type === "component-stuck");
    expect(stuck).toHaveLength(1);
    expect(stuck[0]).toMatchObject({ component: "frontend", reason: "ProgressDeadlineExceeded" });
    expect(stuck[0]?.message).toMatch(/^frontend: Rollout "frontend" is not getting ready: ProgressDeadlineExceeded/);
  });
});

describe("event data", () => {
  it("gives the preview URL as data on preview-ready, previews-ready and waiting-for-approval, and ABORTED on aborted", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const log = eventLog();
    const applying = k.engine
      .apply(await k.engine.plan(seedPayload(), k.environment), { onEvent: log.onEvent })
      .catch((e: unknown) => e);
    const waiting = await log.next("waiting-for-approval");
    const url = "https://preview.demo.example.com/";
    expect(waiting).toMatchObject({ previewUrl: url, gate: "promotion" });
    expect(waiting.message).toContain(url);
    expect(log.events.find((e) => e.type === "previews-ready")).toMatchObject({ previewUrl: url });
    const previews = log.events.filter((e) => e.type === "preview-ready");
    // A blue-green Rollout's preview has the URL; a Deployment (rolled out, no preview) has none, in data as in text.
    expect(previews.find((e) => e.component === "frontend")).toMatchObject({ previewUrl: url });
    for (const e of previews) expect(e.message.includes(url)).toBe(e.previewUrl === url);
    await k.engine.abort(waiting.release, { by: "alice", namespace: NS });
    expect(await applying).toMatchObject({ code: "ABORTED" });
    expect(log.events.find((e) => e.type === "aborted")).toMatchObject({ code: "ABORTED" });
    expect(log.events.some((e) => e.type === "component-stuck")).toBe(false);
  });
});
