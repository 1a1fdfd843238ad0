// Job semantics from https://kubernetes.io/docs/concepts/workloads/controllers/job/ (completions, parallelism,
// backoffLimit, activeDeadlineSeconds, ttlSecondsAfterFinished, the Complete/Failed terminal conditions).
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { jobController } from "./job.js";
import { podController } from "./pod.js";
import type { Obj } from "./workload.js";

function job(name: string, spec: Obj = {}): Obj {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name },
    spec: {
      template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "migrate:1" }] } },
      ...spec,
    },
  };
}

async function simWith() {
  const sim = await startKubeSim({
    clock: new ManualClock(),
    jobRunMs: 5_000,
    controllers: [podController, jobController],
  });
  const jobs = sim.store.types.get("batch", "jobs") as NonNullable<ReturnType<typeof sim.store.types.get>>;
  const pods = sim.store.types.get("", "pods") as NonNullable<ReturnType<typeof sim.store.types.get>>;
  return {
    sim,
    create: (o: Obj) => sim.store.create(jobs, "default", o).object as Obj,
    get: (name: string) => sim.store.get(jobs, "default", name) as Obj,
    exists: (name: string) => sim.store.peek(jobs, "default", name) !== undefined,
    pods: () => sim.store.list(pods, "default").items as Obj[],
    [Symbol.asyncDispose]: () => sim.close(),
  };
}

const cond = (j: Obj, type: string) => (j.status?.conditions ?? []).find((c: Obj) => c.type === type);

describe("Job controller", () => {
  it("selects its pods by its own UID, as the API server generates it", async () => {
    await using k = await simWith();
    const created = k.create(job("migrate"));
    expect(created.spec.selector).toEqual({
      matchLabels: { "batch.kubernetes.io/controller-uid": created.metadata.uid },
    });
    expect(created.spec.template.metadata.labels["job-name"]).toBe("migrate");
  });

  it("runs parallelism pods at a time until completions succeeded, then reports Complete", async () => {
    await using k = await simWith();
    k.create(job("migrate", { completions: 3, parallelism: 2 }));
    await k.sim.settle();
    expect(k.get("migrate").status).toMatchObject({ active: 2 });
    await k.sim.advance(5_000);
    expect(k.get("migrate").status).toMatchObject({ active: 1, succeeded: 2 });
    await k.sim.advance(5_000);
    const j = k.get("migrate");
    expect(j.status).toMatchObject({
      succeeded: 3,
      completionTime: "2026-01-01T00:00:10Z",
      startTime: "2026-01-01T00:00:00Z",
    });
    expect(j.status.active).toBeUndefined();
    expect(cond(j, "Complete")).toMatchObject({ status: "True", reason: "CompletionsReached" });
    expect(cond(j, "SuccessCriteriaMet")?.status).toBe("True");
  });

  it("fails with BackoffLimitExceeded once more than backoffLimit pods failed", async () => {
    await using k = await simWith();
    k.sim.faults.failJobPods({ image: "migrate:1" });
    k.create(job("migrate", { backoffLimit: 1 }));
    await k.sim.advance(20_000);
    const j = k.get("migrate");
    expect(j.status.failed).toBe(2);
    expect(cond(j, "Failed")).toMatchObject({
      status: "True",
      reason: "BackoffLimitExceeded",
      message: "Job has reached the specified backoff limit",
    });
    expect(k.pods().filter((p) => p.status.phase === "Failed")).toHaveLength(2);
  });

  it("fails with DeadlineExceeded after activeDeadlineSeconds and deletes the running pod", async () => {
    await using k = await simWith();
    k.create(job("slow", { activeDeadlineSeconds: 2 }));
    await k.sim.advance(3_000);
    expect(cond(k.get("slow"), "Failed")?.reason).toBe("DeadlineExceeded");
    expect(k.pods()).toEqual([]);
  });

  it("deletes a finished Job after ttlSecondsAfterFinished", async () => {
    await using k = await simWith();
    k.create(job("once", { ttlSecondsAfterFinished: 30 }));
    await k.sim.advance(5_000);
    expect(cond(k.get("once"), "Complete")?.status).toBe("True");
    await k.sim.advance(30_000);
    expect(k.exists("once")).toBe(false);
    expect(k.pods()).toEqual([]);
  });
});
