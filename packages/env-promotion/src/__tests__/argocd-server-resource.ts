/**
 * Argo CD's API server for tests: a real HTTP server on loopback answering `GET /api/v1/applications/{name}` as Argo CD
 * does (a bearer token required, 401 otherwise, 404 for an unknown application), with an Application whose status
 * moves through a script, one step per read, the last repeated. Closed when the test finishes.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import { listenForTest } from "./loopback-server.js";

export const ARGOCD_TOKEN = "argocd-test-token-4f1b2c";

/** One state of an Application's status, in Argo CD's own field names. */
export interface AppState {
  sync: "Synced" | "OutOfSync" | "Unknown";
  revision?: string;
  health: "Healthy" | "Progressing" | "Degraded" | "Suspended" | "Missing" | "Unknown";
  healthMessage?: string;
  /** Resources, `Kind/name` with their health (a Deployment or Rollout of the application). */
  resources?: { kind: string; name: string; health: string; message?: string }[];
  images?: string[];
  operationPhase?: "Running" | "Succeeded" | "Failed" | "Error";
}

export function application(name: string, state: AppState): unknown {
  return {
    metadata: { name, namespace: "argocd", uid: "0b6a3b1e-7f0c-4c1e-9f3d-3f3a1c0d9e11" },
    spec: {
      project: "default",
      source: { repoURL: "https://github.com/acme/gitops", path: "kustomize/prod", targetRevision: "main" },
      destination: { server: "https://kubernetes.default.svc", namespace: "shop" },
    },
    status: {
      sync: { status: state.sync, ...(state.revision ? { revision: state.revision } : {}) },
      health: { status: state.health, ...(state.healthMessage ? { message: state.healthMessage } : {}) },
      resources: (state.resources ?? []).map((r) => ({
        group: r.kind === "Rollout" ? "argoproj.io" : "apps",
        version: "v1",
        kind: r.kind,
        namespace: "shop",
        name: r.name,
        status: state.sync,
        health: { status: r.health, ...(r.message ? { message: r.message } : {}) },
      })),
      summary: { images: state.images ?? [] },
      ...(state.operationPhase ? { operationState: { phase: state.operationPhase, message: "sync" } } : {}),
    },
  };
}

export interface ArgoCdServerResource {
  server: string;
  /** Every request: path and headers. */
  requests: { path: string; headers: IncomingHttpHeaders }[];
  /** Replaces the script (from the next read on). */
  script(states: AppState[]): void;
}

export async function argoCdServerResource(name: string, states: AppState[]): Promise<ArgoCdServerResource> {
  let script = states;
  let step = 0;
  const requests: ArgoCdServerResource["requests"] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? "", headers: req.headers });
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${ARGOCD_TOKEN}`) {
      return reply(401, { error: "invalid session: token is malformed", code: 16, message: "invalid session" });
    }
    const match = /^\/api\/v1\/applications\/([^/?]+)/.exec(req.url ?? "");
    if (req.method !== "GET" || !match) return reply(404, { code: 5, message: "Not Found" });
    if (decodeURIComponent(match[1] ?? "") !== name) {
      return reply(404, { code: 5, message: `applications.argoproj.io "${match[1]}" not found` });
    }
    const state = script[Math.min(step, script.length - 1)];
    step += 1;
    reply(200, application(name, state as AppState));
  });
  const baseUrl = await listenForTest(server);
  return {
    server: baseUrl,
    requests,
    script(states) {
      script = states;
      step = 0;
    },
  };
}
