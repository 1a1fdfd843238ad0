/**
 * The Job controller (pkg/controller/job), for NonIndexed jobs: runs up to `parallelism` pods at a time until
 * `completions` have succeeded (condition SuccessCriteriaMet, then Complete), or fails the Job once more than
 * `backoffLimit` pods failed (FailureTarget, then Failed with BackoffLimitExceeded) or `activeDeadlineSeconds`
 * passed (DeadlineExceeded), deleting its active pods. `suspend` stops it; `ttlSecondsAfterFinished` deletes it.
 * Pod run time comes from `timing.jobRunMs`; `faults.failJobPods()` makes pods exit 1.
 */
import type { KubeObject } from "../crds.js";
import { defineController } from "./runtime.js";
import {
  type Condition,
  controllerRef,
  isControlledBy,
  isPodReady,
  type Obj,
  setCondition,
  toTimestamp,
  typeOf,
} from "./workload.js";

function finished(conditions: Condition[]): Condition | undefined {
  return conditions.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

export const jobController = defineController({
  name: "job",
  for: { apiVersion: "batch/v1", kind: "Job" },
  owns: [{ apiVersion: "v1", kind: "Pod" }],
  reconcile(ctx, key) {
    const { store } = ctx;
    const jobType = typeOf(store, "batch", "jobs");
    const podType = typeOf(store, "", "pods");
    const job = store.peek(jobType, key.namespace, key.name);
    if (!job || job.metadata.deletionTimestamp) return undefined;
    const spec = job.spec as Obj;
    const previous = (job.status ?? {}) as Obj;
    const conditions: Condition[] = structuredClone(previous.conditions ?? []);
    const nowMs = ctx.clock.now();
    const now = toTimestamp(nowMs);
    const done = finished(conditions);
    if (done) {
      const ttl: number | undefined = spec.ttlSecondsAfterFinished;
      if (ttl === undefined) return undefined;
      const at = Date.parse(previous.completionTime ?? done.lastTransitionTime ?? now) + ttl * 1000;
      if (nowMs < at) return { requeueAfterMs: at - nowMs };
      store.delete(jobType, key.namespace, key.name, { propagationPolicy: "Background" });
      return undefined;
    }
    const pods = store.listRaw(podType, key.namespace).items.filter((p) => isControlledBy(p, job));
    const phase = (p: KubeObject) => (p.status as Obj)?.phase;
    const active = pods.filter(
      (p) => phase(p) !== "Succeeded" && phase(p) !== "Failed" && !p.metadata.deletionTimestamp,
    );
    const succeeded = pods.filter((p) => phase(p) === "Succeeded").length;
    const failed = pods.filter((p) => phase(p) === "Failed").length;
    const completions: number = spec.completions ?? 1;
    const parallelism: number = spec.parallelism ?? 1;
    const backoffLimit: number = spec.backoffLimit ?? 6;
    const startTime: string | undefined = previous.startTime ?? (spec.suspend ? undefined : now);
    let requeueAfterMs: number | undefined;

    let failure: { reason: string; message: string } | undefined;
    if (failed > backoffLimit)
      failure = { reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" };
    else if (spec.activeDeadlineSeconds !== undefined && startTime) {
      const deadline = Date.parse(startTime) + spec.activeDeadlineSeconds * 1000;
      if (nowMs >= deadline)
        failure = { reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" };
      else requeueAfterMs = deadline - nowMs;
    }
    const terminating = pods.filter(
      (p) => p.metadata.deletionTimestamp && phase(p) !== "Succeeded" && phase(p) !== "Failed",
    ).length;
    const status: Obj = {
      startTime,
      active: 0,
      succeeded,
      failed,
      terminating,
      ready: 0,
      uncountedTerminatedPods: {},
    };
    if (failure) {
      for (const p of active) store.delete(podType, key.namespace, p.metadata.name as string);
      setCondition(conditions, { type: "FailureTarget", status: "True", ...failure, lastProbeTime: now }, now);
      setCondition(conditions, { type: "Failed", status: "True", ...failure, lastProbeTime: now }, now);
      ctx.recordEvent(job, "Warning", failure.reason, failure.message, "job-controller");
    } else if (succeeded >= completions) {
      setCondition(
        conditions,
        {
          type: "SuccessCriteriaMet",
          status: "True",
          reason: "CompletionsReached",
          message: "Reached expected number of succeeded pods",
          lastProbeTime: now,
        },
        now,
      );
      setCondition(
        conditions,
        {
          type: "Complete",
          status: "True",
          reason: "CompletionsReached",
          message: "Reached expected number of succeeded pods",
          lastProbeTime: now,
        },
        now,
      );
      status.completionTime = now;
      ctx.recordEvent(job, "Normal", "Completed", "Job completed", "job-controller");
      if (spec.ttlSecondsAfterFinished !== undefined) requeueAfterMs = spec.ttlSecondsAfterFinished * 1000;
    } else if (!spec.suspend) {
      const want = Math.min(parallelism, completions - succeeded);
      const template = (spec.template ?? {}) as Obj;
      for (let i = active.length; i < want; i++) {
        const pod = store.create(podType, key.namespace, {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            generateName: `${job.metadata.name}-`,
            labels: { ...(template.metadata?.labels ?? {}) },
            ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
            ownerReferences: [controllerRef(job)],
          },
          spec: structuredClone(template.spec ?? {}),
        }).object;
        active.push(pod);
        ctx.recordEvent(job, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`, "job-controller");
      }
      status.active = active.length;
      status.ready = active.filter(isPodReady).length;
    } else {
      for (const p of active) store.delete(podType, key.namespace, p.metadata.name as string);
      setCondition(
        conditions,
        { type: "Suspended", status: "True", reason: "JobSuspended", message: "Job suspended", lastProbeTime: now },
        now,
      );
    }
    if (conditions.length) status.conditions = conditions;
    for (const k of ["active", "succeeded", "failed"]) if (status[k] === 0) delete status[k];
    if (status.startTime === undefined) delete status.startTime;
    const current = store.peek(jobType, key.namespace, key.name) as KubeObject;
    store.update(jobType, key.namespace, key.name, { ...current, status }, { subresource: "status" });
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  },
});
