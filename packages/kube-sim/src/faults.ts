/**
 * Fault injection: make the API server fail or stall requests, cut watches, forget watch history, and make pods
 * crash, fail to pull their image, never become ready, or (for Jobs) exit with an error.
 * Each method returns a handle whose `clear()` removes that fault; `faults.clear()` removes them all.
 */
import { KubeApiError, type StatusReason } from "./errors.js";

export interface RequestMatch {
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb?: string;
  /** Plural resource name, e.g. "deployments". */
  resource?: string;
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export interface RequestInfo extends RequestMatch {
  verb: string;
}

export interface FailRequestsOptions extends RequestMatch {
  /** HTTP status to answer with: 403, 409, 422, 429, 500 or 503. */
  code: 403 | 409 | 422 | 429 | 500 | 503;
  /** How many matching requests fail; every one while the fault stands if unset. */
  times?: number;
  message?: string;
}

/** What `deny()` refuses; unset fields match anything. */
export interface DenyMatch {
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb?: string;
  /** API group: "" for the core group, "apps", "argoproj.io". */
  group?: string;
  /** Plural resource name, e.g. "deployments". */
  resource?: string;
  /** e.g. "status" or "scale"; unset matches the object and every subresource. */
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** The user every request is made as (the simulator's kubeconfig carries a fixed bearer token). */
export const SIM_USER = "kube-sim-admin";

export interface PodMatch {
  /** Containers whose image matches (string = substring, RegExp = test). */
  image?: string | RegExp;
  namespace?: string;
  /** Pod name prefix, e.g. a ReplicaSet or Job name. */
  namePrefix?: string;
}

export type PodFaultKind = "crash" | "imagePull" | "neverReady" | "jobFail";

/** What a fault changes, for the server and controllers to act on. */
export type FaultChange = "pods" | "watches" | "watches-expired" | "history";

export interface FaultHandle {
  clear(): void;
}

interface RequestFault {
  match: RequestMatch;
  code?: number;
  delayMs?: number;
  remaining: number;
  message?: string;
}

interface PodFault {
  kind: PodFaultKind;
  match: PodMatch;
}

const reasons: Record<number, StatusReason> = {
  403: "Forbidden",
  409: "Conflict",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
};

function matchesRequest(m: RequestMatch, r: RequestInfo): boolean {
  return (
    (m.verb === undefined || m.verb === r.verb) &&
    (m.resource === undefined || m.resource === r.resource) &&
    (m.group === undefined || m.group === r.group) &&
    (m.namespace === undefined || m.namespace === r.namespace) &&
    (m.name === undefined || m.name === r.name) &&
    (m.subresource === undefined || m.subresource === r.subresource)
  );
}

export class Faults {
  private readonly requestFaults = new Set<RequestFault>();
  private readonly podFaults = new Set<PodFault>();
  private readonly denials = new Set<DenyMatch>();
  private readonly listeners = new Set<(what: FaultChange) => void>();

  /** Answer matching requests with an error Status. */
  failRequests(options: FailRequestsOptions): FaultHandle {
    const { code, times, message, ...match } = options;
    const fault: RequestFault = { match, code, remaining: times ?? Number.POSITIVE_INFINITY, message };
    this.requestFaults.add(fault);
    return { clear: () => this.requestFaults.delete(fault) };
  }

  /** Hold matching requests for `ms` of real time before answering (network latency is wall-clock time). */
  delayRequests(options: RequestMatch & { ms: number; times?: number }): FaultHandle {
    const { ms, times, ...match } = options;
    const fault: RequestFault = { match, delayMs: ms, remaining: times ?? Number.POSITIVE_INFINITY };
    this.requestFaults.add(fault);
    return { clear: () => this.requestFaults.delete(fault) };
  }

  /**
   * RBAC says no: matching requests get a real 403 Forbidden Status, and a SelfSubjectAccessReview for the same
   * attributes (`kubectl auth can-i`) answers `allowed: false`. Controllers writing through `sim.store` are not affected.
   */
  deny(match: DenyMatch): FaultHandle {
    const rule = { ...match };
    this.denials.add(rule);
    return { clear: () => this.denials.delete(rule) };
  }

  /** Closes every open watch connection now; clients must re-watch from their last resource version. */
  dropWatches(): void {
    this.emit("watches");
  }

  /**
   * The API server's watch cache falls behind: the history is forgotten and every open watch receives an `ERROR`
   * event with a 410 Expired Status, then is closed (as the real server does). A client resuming from a version older
   * than the newest (other objects changed since its last event) gets 410 again: only a new list sees everything.
   */
  expireOpenWatches(): void {
    this.emit("history");
    this.emit("watches-expired");
  }

  /** Forgets the change history, so watches resuming from an older resource version get 410 Gone. */
  expireWatchHistory(): void {
    this.emit("history");
  }

  /** Containers of matching pods crash on start and go into CrashLoopBackOff. */
  crashPods(match: PodMatch = {}): FaultHandle {
    return this.addPodFault("crash", match);
  }

  /** Matching pods cannot pull their image: ErrImagePull, then ImagePullBackOff. */
  failImagePull(match: PodMatch = {}): FaultHandle {
    return this.addPodFault("imagePull", match);
  }

  /** Matching pods run but never pass their readiness probe. */
  neverReady(match: PodMatch = {}): FaultHandle {
    return this.addPodFault("neverReady", match);
  }

  /** Matching pods of Jobs exit with code 1 instead of 0. */
  failJobPods(match: PodMatch = {}): FaultHandle {
    return this.addPodFault("jobFail", match);
  }

  clear(): void {
    this.requestFaults.clear();
    this.denials.clear();
    const hadPods = this.podFaults.size > 0;
    this.podFaults.clear();
    if (hadPods) this.emit("pods");
  }

  // ----- used by the server and the controllers -----

  /** The error to answer with, or the delay to apply, for one request; consumes one use of the fault. */
  forRequest(info: RequestInfo): { error?: KubeApiError; delayMs?: number } {
    const out: { error?: KubeApiError; delayMs?: number } = {};
    for (const f of this.requestFaults) {
      if (!matchesRequest(f.match, info)) continue;
      if (f.delayMs !== undefined && out.delayMs === undefined) out.delayMs = f.delayMs;
      else if (f.code !== undefined && !out.error) {
        const reason = reasons[f.code] ?? "InternalError";
        out.error =
          f.code === 429
            ? new KubeApiError(
                429,
                "TooManyRequests",
                f.message ?? "the server has received too many requests and has asked us to try again later",
                { retryAfterSeconds: 1 },
              )
            : new KubeApiError(
                f.code,
                reason,
                f.message ?? `injected fault: ${info.verb} ${info.resource ?? ""} fails with ${f.code}`,
              );
      } else continue;
      f.remaining--;
      if (f.remaining <= 0) this.requestFaults.delete(f);
    }
    return out;
  }

  /** Whether a deny rule matches these request attributes (empty strings count as unset, as in a review). */
  isDenied(attrs: DenyMatch): boolean {
    const eq = (rule: string | undefined, value: string | undefined) => rule === undefined || rule === (value ?? "");
    for (const d of this.denials) {
      if (
        eq(d.verb, attrs.verb) &&
        eq(d.group, attrs.group) &&
        eq(d.resource, attrs.resource) &&
        eq(d.subresource, attrs.subresource) &&
        eq(d.namespace, attrs.namespace) &&
        eq(d.name, attrs.name)
      )
        return true;
    }
    return false;
  }

  podFault(pod: { metadata: { name?: string; namespace?: string }; spec?: unknown }): PodFaultKind | undefined {
    const containers = ((pod.spec as { containers?: { image?: string }[] } | undefined)?.containers ?? []).map(
      (c) => c.image ?? "",
    );
    for (const f of this.podFaults) {
      const m = f.match;
      if (m.namespace !== undefined && m.namespace !== pod.metadata.namespace) continue;
      if (m.namePrefix !== undefined && !(pod.metadata.name ?? "").startsWith(m.namePrefix)) continue;
      if (m.image !== undefined) {
        const re = m.image;
        if (!containers.some((img) => (typeof re === "string" ? img.includes(re) : re.test(img)))) continue;
      }
      return f.kind;
    }
    return undefined;
  }

  onChange(listener: (what: FaultChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private addPodFault(kind: PodFaultKind, match: PodMatch): FaultHandle {
    const fault: PodFault = { kind, match };
    this.podFaults.add(fault);
    this.emit("pods");
    return {
      clear: () => {
        if (this.podFaults.delete(fault)) this.emit("pods");
      },
    };
  }

  private emit(what: FaultChange): void {
    for (const l of [...this.listeners]) l(what);
  }
}
