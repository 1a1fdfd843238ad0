/**
 * Flagger gate decisions. Flagger asks a webhook before it starts (confirm-rollout), before it promotes
 * (confirm-promotion) and at every check whether to roll back (rollback); the usual answerer is flagger-loadtester,
 * whose gate API (pkg/loadtester/server.go) is: POST `{"name","namespace"}` to `/gate/open` or `/gate/close`
 * (confirm gates, checked at `/gate/check`) and to `/rollback/open` or `/rollback/close` (checked at
 * `/rollback/check`). We find the webhook in the Canary and send the decision to the same loadtester.
 */
import type { Connection } from "../connect.js";
import { RolloutClientError } from "../errors.js";
import type { CanaryObject, CanaryWebhook } from "../resources.js";
import type { Target } from "../targets/target.js";
import type { OperationResult } from "./promote.js";
import { readObject } from "./shared.js";

export type GateType = "confirm-rollout" | "confirm-promotion" | "rollback";
export type GateDecision = "open" | "close";

/** Loadtester paths: where Flagger checks, and where a decision is sent. */
export const GATE_PATHS: Record<GateType, { check: string; open: string; close: string }> = {
  "confirm-rollout": { check: "/gate/check", open: "/gate/open", close: "/gate/close" },
  "confirm-promotion": { check: "/gate/check", open: "/gate/open", close: "/gate/close" },
  rollback: { check: "/rollback/check", open: "/rollback/open", close: "/rollback/close" },
};

export async function canaryGate(
  conn: Connection,
  target: Target,
  gate: GateType,
  decision: GateDecision,
  signal?: AbortSignal,
): Promise<OperationResult> {
  const canary = await readObject<CanaryObject>(conn, "Canary", target.namespace, target.name);
  const resource = { kind: "Canary", name: target.name, namespace: target.namespace };
  const webhook = (canary.spec.analysis?.webhooks ?? []).find((w) => w.type === gate);
  if (!webhook) {
    throw new RolloutClientError("INVALID", `the Canary has no ${gate} webhook, so there is no gate to ${decision}`, {
      resource,
    });
  }
  const url = decisionUrl(webhook, gate, decision, resource);
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  // fetch refuses URLs with credentials: send them as Basic auth, and keep them out of every message.
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  const body = JSON.stringify({ name: target.name, namespace: target.namespace });
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers,
      body,
      ...(signal ? { signal } : {}),
    });
    await response.text();
  } catch (cause) {
    throw new RolloutClientError("UNAVAILABLE", `cannot reach the ${gate} gate at ${url.origin}: ${String(cause)}`, {
      resource,
      cause,
    });
  }
  if (!response.ok) {
    throw new RolloutClientError(
      response.status === 403 ? "FORBIDDEN" : "UNAVAILABLE",
      `the ${gate} gate at ${url.origin} answered HTTP ${response.status} to ${decision}`,
      { resource, httpStatus: response.status },
    );
  }
  return { writes: 1 };
}

function decisionUrl(
  webhook: CanaryWebhook,
  gate: GateType,
  decision: GateDecision,
  resource: { kind: string; name: string; namespace: string },
): URL {
  let url: URL;
  try {
    url = new URL(webhook.url);
  } catch (cause) {
    throw new RolloutClientError("INVALID", `the ${gate} webhook "${webhook.name}" has no valid url`, {
      resource,
      cause,
    });
  }
  const paths = GATE_PATHS[gate];
  if (!url.pathname.endsWith(paths.check)) {
    throw new RolloutClientError(
      "INVALID",
      `the ${gate} webhook "${webhook.name}" (${url.origin}${url.pathname}) is not a flagger-loadtester gate ending in ${paths.check}; ` +
        "send the decision to the service that answers it",
      { resource },
    );
  }
  url.pathname = url.pathname.slice(0, -paths.check.length) + paths[decision];
  url.search = "";
  return url;
}

/** Opens whichever confirm gate the Canary is waiting at (phase Waiting or WaitingPromotion). */
export async function openWaitingGate(conn: Connection, target: Target): Promise<OperationResult> {
  const canary = await readObject<CanaryObject>(conn, "Canary", target.namespace, target.name);
  const phase = canary.status?.phase;
  if (phase === "Waiting") return canaryGate(conn, target, "confirm-rollout", "open");
  if (phase === "WaitingPromotion") return canaryGate(conn, target, "confirm-promotion", "open");
  throw new RolloutClientError(
    "INVALID",
    `the Canary is ${phase ?? "not initialised"}, not waiting at a gate (Waiting or WaitingPromotion); nothing to promote`,
    { resource: { kind: "Canary", name: target.name, namespace: target.namespace } },
  );
}
