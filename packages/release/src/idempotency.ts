/**
 * One delivery, one release: the claims that make a retried delivery (an Idempotency-Key) and a duplicate delivery
 * (the same payload, while its release runs) the same release, whichever process receives it: a server replica, the
 * CLI or the Action. A claim is a ConfigMap created with POST, so exactly one delivery wins it (409 AlreadyExists
 * for the others); it names the payload digest and, once started, the release.
 *
 * - An Idempotency-Key claim is kept (a retry days later is still the same release), scoped by the caller.
 * - A payload-digest claim lives while its release runs, scoped by the environment's namespace and name, so a CLI
 *   run and a server delivery of the same payload meet on the same claim.
 */
import { createHash } from "node:crypto";
import type { Connection } from "@rollway/rollout-client";
import {
  createConfigMap,
  deleteConfigMap,
  followConfigMap,
  getConfigMap,
  MANAGED_BY,
  type SmallConfigMap,
  updateConfigMap,
} from "./config-map-store.js";
import { type ReleaseRecord, TERMINAL_STATES } from "./records.js";

export const LABEL_IDEMPOTENCY = "rollway.dev/idempotency-environment";

const hashed = (prefix: string, ...parts: string[]) =>
  `${prefix}-${createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 40)}`;

/** The ConfigMap of an Idempotency-Key, per caller scope (the server's project and URL environment). */
export const idempotencyName = (scope: string, environment: string, key: string): string =>
  hashed("rollway-idempotency", scope, environment, key);

/** The ConfigMap of a running payload, per environment (any process running it there). */
export const digestClaimName = (namespace: string, environment: string, digest: string): string =>
  hashed("rollway-payload-running", namespace, environment, digest);

export interface IdempotencyClaim {
  digest: string;
  /** Absent while the process that claimed it is still starting the release. */
  release?: string;
}

const claimOf = (cm: SmallConfigMap): IdempotencyClaim => ({
  digest: cm.data?.digest ?? "",
  ...(cm.data?.release ? { release: cm.data.release } : {}),
});

/** True when this call made the claim, else the claim that exists (another delivery, perhaps another process). */
export async function claim(
  api: Connection,
  ns: string,
  name: string,
  environment: string,
  digest: string,
): Promise<true | IdempotencyClaim> {
  for (;;) {
    const made = await createConfigMap(api, ns, {
      metadata: { name, labels: { ...MANAGED_BY, [LABEL_IDEMPOTENCY]: environment } },
      data: { digest },
    });
    if (made) return true;
    const cm = await getConfigMap(api, ns, name);
    if (cm) return claimOf(cm);
    // Given up between our create and our read: try again.
  }
}

/** The release started: a later delivery of the claim finds it. */
export function completeClaim(api: Connection, ns: string, name: string, release: string): Promise<void> {
  return updateConfigMap(api, ns, name, (cm) =>
    cm ? { metadata: cm.metadata, data: { ...cm.data, release } } : undefined,
  );
}

/** The release could not start, or (a digest claim) it ended: the claim is free. */
export function dropClaim(api: Connection, ns: string, name: string): Promise<void> {
  return deleteConfigMap(api, ns, name);
}

/** Waits for whoever made the claim to record its release, or to give the claim up (undefined). */
export async function waitForClaim(
  api: Connection,
  ns: string,
  name: string,
  signal: AbortSignal,
): Promise<IdempotencyClaim | undefined> {
  for await (const cm of followConfigMap(api, ns, name, signal)) {
    if (!cm) return undefined;
    const found = claimOf(cm);
    if (found.release) return found;
  }
  signal.throwIfAborted();
  return undefined;
}

export type DeliveryClaim =
  /** This delivery starts the release: `complete` once its id is known, `drop` if it never starts. */
  | { kind: "claimed"; name: string; keep: boolean }
  /** The same delivery already made this release. */
  | { kind: "duplicate"; release: string }
  /** The Idempotency-Key was used with another payload. */
  | { kind: "key-reused" };

export interface DeliveryInput {
  namespace: string;
  environment: string;
  digest: string;
  /** An Idempotency-Key and its scope; without one, the payload digest is the key while its release runs. */
  key?: { scope: string; environment: string; value: string };
  signal: AbortSignal;
  /** The engine's reads, to see whether a claimed release still runs. */
  get(release: string): Promise<ReleaseRecord>;
  history(): Promise<ReleaseRecord[]>;
}

const isTerminal = (r: ReleaseRecord) => TERMINAL_STATES.includes(r.state);

/** Claims a delivery, or finds the release it already made. */
export async function claimDelivery(api: Connection, input: DeliveryInput): Promise<DeliveryClaim> {
  const ns = input.namespace;
  if (input.key) {
    const name = idempotencyName(input.key.scope, input.key.environment, input.key.value);
    for (;;) {
      const found = await claim(api, ns, name, input.key.environment, input.digest);
      if (found === true) return { kind: "claimed", name, keep: true };
      if (found.digest !== input.digest) return { kind: "key-reused" };
      const done = found.release ? found : await waitForClaim(api, ns, name, input.signal);
      if (done?.release) return { kind: "duplicate", release: done.release };
      // Whoever claimed it could not start the release: claim it again.
    }
  }
  // A release of the same payload started with a key (no digest claim) is found in the history.
  const running = (await input.history()).find((r) => !isTerminal(r) && r.payloadDigest === input.digest);
  if (running) return { kind: "duplicate", release: running.id };
  const name = digestClaimName(ns, input.environment, input.digest);
  for (;;) {
    const found = await claim(api, ns, name, input.environment, input.digest);
    if (found === true) return { kind: "claimed", name, keep: false };
    if (found.release) {
      const record = await input.get(found.release).catch(() => undefined);
      if (record && !isTerminal(record)) return { kind: "duplicate", release: record.id };
      // Its release is over (its process died before letting the claim go): the payload may run again.
      await dropClaim(api, ns, name).catch(() => undefined);
      continue;
    }
    const done = await waitForClaim(api, ns, name, input.signal);
    if (done?.release) return { kind: "duplicate", release: done.release };
  }
}
