/**
 * The Flagger controller (flagger.app/v1beta1 Canary with a Deployment target and the kubernetes provider) on the
 * kube-sim controller runtime. Like Flagger, it runs one analysis step per `analysis.interval` tick of the clock
 * (the first at the next control-loop tick, 10 s after the Canary appears); watch events in between only re-arm
 * the tick. Webhooks
 * are POSTed over real HTTP with Flagger's payload. The tick logic lives in `flagger-reconcile.ts`.
 */
import type { KubeObject } from "../crds.js";
import type { ResourceType } from "../resources.js";
import type { Store } from "../store.js";
import { analysisIntervalMs, type Canary } from "./flagger-model.js";
import {
  advanceCanary,
  type DeploymentWithStatus,
  type FlaggerOptions,
  type FlaggerWorld,
  initializeCanary,
} from "./flagger-reconcile.js";
import { type ControllerContext, defineController } from "./runtime.js";

const CANARY = { apiVersion: "flagger.app/v1beta1", kind: "Canary" };
const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" };
const SERVICE = { apiVersion: "v1", kind: "Service" };
const METRIC_TEMPLATE = { apiVersion: "flagger.app/v1beta1", kind: "MetricTemplate" };

/** Flagger's `-control-loop-interval` default. */
export const CONTROL_LOOP_INTERVAL_MS = 10_000;

/** Clock time of each Canary's next analysis tick, per simulator. */
const nextTicks = new WeakMap<Store, Map<string, number>>();

function typeOf(store: Store, ref: { apiVersion: string; kind: string }): ResourceType {
  const type = store.types.byKind(ref.apiVersion, ref.kind);
  if (!type) throw new Error(`kube-sim has no ${ref.kind} (${ref.apiVersion}) type: is the Flagger CRD installed?`);
  return type;
}

function clone<T>(obj: unknown): T {
  return structuredClone(obj) as T;
}

/**
 * POSTs JSON as Flagger's webhook client does. Credentials in the URL become a Basic Authorization header (as Go's
 * net/http sends them) and never appear in an error: network errors and timeouts reject with the URL without them.
 */
export async function postWebhook(
  url: string,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; body: string; retryAfter?: string }> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new Error("Post: the webhook URL is not a valid absolute URL (check spec.analysis.webhooks[].url)");
  }
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (target.username || target.password) {
    const user = decodeURIComponent(target.username);
    const password = decodeURIComponent(target.password);
    headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    target.username = "";
    target.password = "";
  }
  try {
    const res = await fetch(target, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: await res.text(), retryAfter: res.headers.get("retry-after") ?? undefined };
  } catch (error) {
    const reason = (error as Error)?.name === "TimeoutError" ? `timed out after ${timeoutMs}ms` : "connection failed";
    throw new Error(`Post "${target.toString()}": ${reason}`, { cause: error });
  }
}

/** The store seen through the `FlaggerWorld` interface; every read is a copy. */
export function flaggerWorld(ctx: ControllerContext): FlaggerWorld {
  const { store } = ctx;
  return {
    now: () => new Date(ctx.clock.now()),
    getCanary: async (ns, name) => {
      const stored = store.peek(typeOf(store, CANARY), ns, name);
      return stored ? withSpec(clone<Canary>(stored)) : undefined;
    },
    patchCanaryStatus: async (ns, name, patch) =>
      clone<Canary>(store.patch(typeOf(store, CANARY), ns, name, "merge", patch, { subresource: "status" }).object),
    getDeployment: async (ns, name) =>
      clone<DeploymentWithStatus | undefined>(store.peek(typeOf(store, DEPLOYMENT), ns, name)),
    createDeployment: async (ns, dep) => {
      store.create(typeOf(store, DEPLOYMENT), ns, { apiVersion: "apps/v1", kind: "Deployment", ...dep });
    },
    patchDeployment: async (ns, name, patch) => {
      store.patch(typeOf(store, DEPLOYMENT), ns, name, "merge", patch);
    },
    getService: async (ns, name) => clone(store.peek(typeOf(store, SERVICE), ns, name)),
    createService: async (ns, svc) => {
      store.create(typeOf(store, SERVICE), ns, svc);
    },
    patchService: async (ns, name, patch) => {
      store.patch(typeOf(store, SERVICE), ns, name, "merge", patch);
    },
    postJson: postWebhook,
    httpGet: async (url, timeoutMs) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      return { status: res.status, body: await res.text() };
    },
    getMetricTemplate: async (ns, name) => {
      const type = store.types.byKind(METRIC_TEMPLATE.apiVersion, METRIC_TEMPLATE.kind);
      return type ? clone(store.peek(type, ns, name)) : undefined;
    },
    resourceOf: (apiVersion, kind) => store.types.byKind(apiVersion, kind)?.resource,
    getObject: async (apiVersion, kind, ns, name) => {
      const type = store.types.byKind(apiVersion, kind);
      return type ? clone(store.peek(type, type.namespaced ? ns : undefined, name)) : undefined;
    },
    createObject: async (apiVersion, kind, ns, obj) => {
      store.create(typeOf(store, { apiVersion, kind }), ns, obj);
    },
    recordEvent: async (canary, type, message) => {
      ctx.recordEvent(canary as unknown as KubeObject, type, "Synced", message, "flagger");
    },
  };
}

/**
 * The CRD does not require `spec`, and Flagger's Go types read a missing one as an empty struct (it then reports the
 * missing targetRef): so does this controller, instead of failing on it.
 */
function withSpec(canary: Canary): Canary {
  canary.spec ??= {} as Canary["spec"];
  canary.spec.targetRef ??= { kind: "", name: "" };
  return canary;
}

/**
 * Flagger's analysis loop for each Canary on the simulator's clock, with Flagger's command-line settings
 * (`includeLabelPrefix` is `-include-label-prefix`).
 */
export function createFlaggerController(options: FlaggerOptions = {}) {
  return defineController({
    name: "flagger",
    for: CANARY,
    owns: [DEPLOYMENT, SERVICE],
    async reconcile(ctx, key) {
      const type = ctx.store.types.byKind(CANARY.apiVersion, CANARY.kind);
      if (!type) return undefined;
      const ticks = nextTicks.get(ctx.store) ?? new Map<string, number>();
      nextTicks.set(ctx.store, ticks);
      const id = `${key.namespace ?? ""}/${key.name}`;
      const stored = ctx.store.peek(type, key.namespace, key.name);
      if (!stored || stored.metadata.deletionTimestamp) {
        ticks.delete(id);
        return undefined;
      }
      const canary = withSpec(clone<Canary>(stored));
      const world = flaggerWorld(ctx);
      const interval = analysisIntervalMs(canary);
      const now = ctx.clock.now();
      await initializeCanary(world, canary);
      const due = ticks.get(id);
      if (due === undefined) {
        // Flagger's scheduler creates a Canary's job at the next control-loop tick (-control-loop-interval,
        // default 10 s) and the job runs its first analysis at once, then every analysis interval.
        ticks.set(id, now + CONTROL_LOOP_INTERVAL_MS);
        return { requeueAfterMs: CONTROL_LOOP_INTERVAL_MS };
      }
      if (now < due) return { requeueAfterMs: due - now };
      ticks.set(id, now + interval);
      await advanceCanary(world, key.namespace ?? "default", key.name, options);
      return { requeueAfterMs: interval };
    },
  });
}

/** Flagger with its default settings (`-include-label-prefix ""`: no target labels copied to the primary). */
export const flaggerController = createFlaggerController();
