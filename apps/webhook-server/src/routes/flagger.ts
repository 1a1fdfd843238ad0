/**
 * Flagger webhook targets with flagger-loadtester's gate protocol (pkg/loadtester/server.go), under an
 * environment's URL: Flagger POSTs `{"name","namespace",...}` to `gate/check` (confirm-rollout, confirm-promotion)
 * and `rollback/check`; 200 means open (go on, or roll back), 403 closed. `gate/halt` is always closed,
 * `gate/approve` always open. `gate/open|close` and `rollback/open|close` record a decision (202), with an `approve`
 * token (Bearer, or Basic with the token as password, as rollout-client sends it from a URL with credentials).
 * Gates live in the cluster (a ConfigMap per open gate in the Canary's namespace): a restart or another replica
 * loses none.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Env, Guard } from "../app.js";
import type { GateKind } from "../cluster-state.js";
import type { ReleaseRoutesDeps } from "./releases.js";

const BASE = "/v1/projects/:project/environments/:environment/flagger";
const DNS = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Flagger's CanaryWebhookPayload: only the fields a gate needs are checked, the rest is accepted. */
const CanaryWebhookPayload = z.looseObject({
  name: z.string().regex(DNS, "a Kubernetes object name"),
  namespace: z.string().regex(DNS, "a Kubernetes namespace"),
});

export function registerFlaggerRoutes(
  app: Hono<Env>,
  o: {
    guard: Guard;
    limitBody: MiddlewareHandler;
    bodyOf: (c: Context<Env>) => Promise<Uint8Array>;
    deps: ReleaseRoutesDeps | undefined;
  },
) {
  const { deps } = o;

  /** The canary of the body, when it lives in the URL's environment's namespace; else the answer to send. */
  async function canaryOf(c: Context<Env>): Promise<{ name: string; namespace: string } | Response> {
    if (!deps) return c.text("no cluster is configured", 503);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(await o.bodyOf(c)).toString("utf8"));
    } catch {
      return c.text("the body is not JSON: expected Flagger's webhook payload {name, namespace}", 400);
    }
    const parsed = CanaryWebhookPayload.safeParse(body);
    if (!parsed.success)
      return c.text(parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; "), 400);
    const env = await deps.environments
      .resolve(c.req.param("project") ?? "", c.req.param("environment") ?? "")
      .catch(() => undefined);
    if (!env || env.namespace !== parsed.data.namespace)
      return c.text(`namespace "${parsed.data.namespace}" is not this environment's`, 403);
    return parsed.data;
  }

  const check = (kind: GateKind) => async (c: Context<Env>) => {
    const canary = await canaryOf(c);
    if (canary instanceof Response) return canary;
    const open = await (deps as ReleaseRoutesDeps).state.isGateOpen(kind, canary.name, canary.namespace);
    return open ? c.text("Approved", 200) : c.text("Forbidden", 403);
  };
  const decide = (kind: GateKind, open: boolean) => async (c: Context<Env>) => {
    const canary = await canaryOf(c);
    if (canary instanceof Response) return canary;
    await (deps as ReleaseRoutesDeps).state.setGate(kind, canary.name, canary.namespace, open);
    return c.body(null, 202);
  };
  const approve = o.guard(["approve"], { basic: true });

  const limit = o.limitBody;
  app.post(`${BASE}/gate/approve`, (c) => c.text("OK", 200));
  app.post(`${BASE}/gate/halt`, (c) => c.text("Forbidden", 403));
  app.post(`${BASE}/gate/check`, limit, check("gate"));
  app.post(`${BASE}/gate/open`, approve, limit, decide("gate", true));
  app.post(`${BASE}/gate/close`, approve, limit, decide("gate", false));
  app.post(`${BASE}/rollback/check`, limit, check("rollback"));
  app.post(`${BASE}/rollback/open`, approve, limit, decide("rollback", true));
  app.post(`${BASE}/rollback/close`, approve, limit, decide("rollback", false));
}
