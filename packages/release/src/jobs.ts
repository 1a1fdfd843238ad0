/**
 * The release's Jobs (pre-release hooks, migrations, code as data): created once per release (a resumed release finds
 * the one its first engine created), then followed by rollout-client's one list-then-watch until they complete, fail
 * or time out.
 */
import { type AnyObject, type Connection, hasHttpStatus } from "@rollway/rollout-client";
import type { Clock } from "./clock.js";
import { timeoutSignal } from "./clock.js";
import type { JobTemplate } from "./environment.js";
import { ReleaseError } from "./errors.js";
import { JOB } from "./kinds.js";

export interface JobRun {
  api: Connection;
  clock: Clock;
  release: string;
  namespace: string;
  signal: AbortSignal;
}

/** Creates a Job (or finds the one a previous engine created) and waits for it to complete. */
export async function runReleaseJob(
  run: JobRun,
  name: string,
  template: JobTemplate,
  timeoutSeconds: number,
): Promise<void> {
  const { api, clock } = run;
  const ns = run.namespace;
  const jobName = `${run.release}-${name}`.slice(0, 63).replace(/-+$/, "");
  const what = `Job "${jobName}"`;
  const body = {
    ...JOB,
    metadata: {
      name: jobName,
      namespace: ns,
      labels: {
        ...(template.metadata?.labels ?? {}),
        "app.kubernetes.io/managed-by": "rollway",
        "rollway.dev/release": run.release,
      },
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
    },
    spec: template.spec,
  };
  await api.objects.create(body).catch((error) => {
    if (!hasHttpStatus(error, 409)) throw error;
  });
  const timeout = timeoutSignal(
    clock,
    timeoutSeconds * 1000,
    run.signal,
    () =>
      new ReleaseError("FAILED", `${what} did not finish within ${timeoutSeconds} s`, {
        release: run.release,
        resource: what,
      }),
  );
  type JobObject = {
    metadata?: { resourceVersion?: string };
    status?: { succeeded?: number; conditions?: { type: string; status: string; message?: string }[] };
  };
  const verdict = (job: JobObject) => {
    const conditions = job.status?.conditions ?? [];
    if (conditions.some((x) => x.type === "Complete" && x.status === "True") || (job.status?.succeeded ?? 0) > 0)
      return "done";
    const failure = conditions.find((x) => x.type === "Failed" && x.status === "True");
    if (failure)
      throw new ReleaseError("FAILED", `${what} failed${failure.message ? `: ${failure.message}` : ""}`, {
        release: run.release,
        resource: what,
      });
    return undefined;
  };
  const deleted = () =>
    new ReleaseError("FAILED", `${what} was deleted while rollway waited for it`, {
      release: run.release,
      resource: what,
    });
  try {
    // rollout-client's one list-then-watch: resumes when a watch ends, relists on 410.
    for await (const event of api.objects.listWatch<JobObject & AnyObject>(
      { ...JOB, namespace: ns, name: jobName },
      { signal: timeout.signal },
    )) {
      if (event.type === "LISTED") {
        const [job] = event.objects;
        if (!job) throw deleted();
        if (verdict(job)) return;
      } else if (event.type === "DELETED") throw deleted();
      else if (event.type !== "INTERRUPTED" && verdict(event.object)) return;
    }
    timeout.signal.throwIfAborted();
  } catch (error) {
    if (timeout.signal.aborted) throw timeout.signal.reason;
    throw error;
  } finally {
    timeout.cancel();
  }
}
