import { describe, expect, it, onTestFinished } from "vitest";
import { type ConnectOptions, openConnection } from "./connect.js";
import { RolloutClientError } from "./errors.js";
import { backoffDelay, isSafeToRepeat, parseRetryAfter, resolveRetry, retryDelay } from "./retry.js";
import { kubeSimResource, NAMESPACE } from "./test-helpers/kube-sim.js";
import { resettingProxy } from "./test-helpers/resetting-proxy.js";

const CM = { apiVersion: "v1", kind: "ConfigMap" } as const;
const configMap = (name: string, data: Record<string, string> = { a: "1" }) => ({
  ...CM,
  metadata: { name, namespace: NAMESPACE },
  data,
});

/** A connection to the simulator (or to a proxy in front of it) whose retries sleep for no real time. */
async function retryingConnection(kubeconfig: string, options: Partial<ConnectOptions> = {}) {
  const delays: number[] = [];
  const requests: string[] = [];
  const conn = await openConnection({
    kubeconfig: { yaml: kubeconfig },
    onRequest: (r) => requests.push(`${r.method} ${r.path}`),
    retry: {
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
      ...options.retry,
    },
  });
  onTestFinished(() => conn.close());
  return { conn, delays, requests };
}

async function failure(promise: Promise<unknown>): Promise<RolloutClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RolloutClientError);
  return error as RolloutClientError;
}

describe("retry rules (client-go's, extended to writes that are safe to repeat)", () => {
  const policy = resolveRetry({ random: () => 0.5, attempts: 5, baseDelayMs: 200, maxDelayMs: 5000 }, async () => {});
  it.each([
    ["GET", undefined, undefined, true],
    ["PUT", { metadata: { resourceVersion: "7" } }, undefined, true],
    ["PUT", { metadata: {} }, undefined, false],
    ["PATCH", { metadata: { resourceVersion: "7" }, spec: {} }, "merge", true],
    ["PATCH", { status: { pauseConditions: null } }, "merge", false],
    ["PATCH", { spec: { template: {} } }, "strategic", false],
    [
      "PATCH",
      [
        { op: "test", path: "/metadata/resourceVersion", value: "7" },
        { op: "remove", path: "/x" },
      ],
      "json",
      true,
    ],
    ["PATCH", [{ op: "add", path: "/spec/x/-", value: 1 }], "json", false],
    ["POST", { metadata: { name: "x" } }, undefined, true],
    ["POST", { metadata: { generateName: "x-" } }, undefined, false],
    ["DELETE", undefined, undefined, false],
    ["DELETE", { preconditions: { resourceVersion: "7" } }, undefined, true],
  ] as const)("%s %j (%s) is safe to repeat: %s", (method, body, patchType, safe) => {
    expect(isSafeToRepeat({ method, body, patchType })).toBe(safe);
  });

  it.each([
    [429, "GET", true],
    [429, "PATCH", true],
    [500, "GET", true],
    [502, "GET", true],
    [503, "GET", true],
    [504, "GET", true],
    [500, "PATCH", false],
    [400, "GET", false],
    [401, "GET", false],
    [403, "GET", false],
    [404, "GET", false],
    [409, "GET", false],
    [410, "GET", false],
    [422, "GET", false],
  ])("HTTP %i on %s is retried: %s", (status, method, retried) => {
    expect(retryDelay(policy, 1, { status }, { method }) !== undefined).toBe(retried);
  });

  it("doubles the delay each attempt with jitter, caps it, and stops at the attempt bound", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(policy, n))).toEqual([150, 300, 600, 1200, 2400, 3750, 3750]);
    const spread = resolveRetry({ random: () => 0.999 }, async () => {});
    expect(backoffDelay(spread, 1)).toBe(200);
    expect(retryDelay(policy, 5, { status: 503 }, { method: "GET" })).toBeUndefined();
  });

  it("honours Retry-After in seconds or as a date, up to a bound", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter("Sun, 06 Dec 2026 06:00:10 GMT", Date.parse("2026-12-06T06:00:00Z"))).toBe(10_000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(retryDelay(policy, 1, { status: 429, retryAfter: "2" }, { method: "PATCH" })).toBe(2000);
    expect(retryDelay(policy, 1, { status: 429, retryAfter: "3600" }, { method: "GET" })).toBe(30_000);
  });
});

describe("transient errors are retried through real HTTP against kube-sim", () => {
  it("retries a read answered 429 after the Retry-After the server asked for", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.conn.objects.create(configMap("settings"));
    const { conn, delays, requests } = await retryingConnection(env.sim.kubeconfig);
    env.sim.faults.failRequests({ verb: "get", resource: "configmaps", code: 429, times: 2 });
    const cm = await conn.objects.get<{ data: Record<string, string> }>({ ...CM, name: "settings" });
    expect(cm.data).toEqual({ a: "1" });
    expect(delays).toEqual([1000, 1000]); // kube-sim's Retry-After: 1
    expect(requests.filter((r) => r.includes("/configmaps/settings"))).toHaveLength(3);
  });

  it("retries reads answered 500 and 503 with growing back-off, and lists and watch starts too", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.conn.objects.create(configMap("settings"));
    const { conn, delays } = await retryingConnection(env.sim.kubeconfig);
    env.sim.faults.failRequests({ verb: "get", resource: "configmaps", code: 500, times: 1 });
    env.sim.faults.failRequests({ verb: "get", resource: "configmaps", code: 503, times: 1 });
    await conn.objects.get({ ...CM, name: "settings" });
    expect(delays).toEqual([150, 300]);
    env.sim.faults.failRequests({ verb: "list", resource: "configmaps", code: 503, times: 1 });
    const list = await conn.objects.list(CM);
    expect(list.items.map((i) => i.metadata?.name)).toEqual(["settings"]);
    env.sim.faults.failRequests({ verb: "watch", resource: "configmaps", code: 500, times: 2 });
    const stop = new AbortController();
    onTestFinished(() => stop.abort());
    const watch = conn.watchStream(
      `/api/v1/namespaces/${NAMESPACE}/configmaps`,
      {},
      { kind: "ConfigMap" },
      stop.signal,
    );
    const first = watch[Symbol.asyncIterator]().next();
    await env.conn.objects.create(configMap("later"));
    const event = (await first).value as { object: { metadata: { name: string } } } | undefined;
    expect(event?.object.metadata.name).toMatch(/settings|later/);
    expect(delays).toEqual([150, 300, 150, 150, 300]);
  });

  it("gives up after the bounded attempts with UNAVAILABLE, the status, the reason and the attempt count", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const { conn, delays, requests } = await retryingConnection(env.sim.kubeconfig);
    env.sim.faults.failRequests({ verb: "get", resource: "configmaps", code: 503 });
    const error = await failure(conn.objects.get({ ...CM, name: "settings" }));
    expect(error).toMatchObject({ code: "UNAVAILABLE", httpStatus: 503, reason: "ServiceUnavailable", attempts: 5 });
    expect(error.message).toMatch(/^GET ConfigMap "settings" in namespace "shop": .*\(after 5 attempts\)$/);
    expect(delays).toEqual([150, 300, 600, 1200]);
    expect(requests).toHaveLength(5);
  });

  it("never retries a 4xx other than 429: a 403 and a 409 are answered once", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.conn.objects.create(configMap("settings"));
    const { conn, delays, requests } = await retryingConnection(env.sim.kubeconfig);
    env.sim.faults.deny({ verb: "get", resource: "configmaps" });
    const denied = await failure(conn.objects.get({ ...CM, name: "settings" }));
    expect(denied).toMatchObject({ code: "FORBIDDEN", httpStatus: 403, reason: "Forbidden", attempts: 1 });
    const taken = await failure(conn.objects.create(configMap("settings")));
    expect(taken).toMatchObject({ code: "ALREADY_EXISTS", httpStatus: 409, reason: "AlreadyExists", attempts: 1 });
    expect(delays).toEqual([]);
    expect(requests).toHaveLength(2);
  });

  it("repeats a write with a resourceVersion precondition after a 500, not one without", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const created = await env.conn.objects.create(configMap("settings"));
    const { conn, delays } = await retryingConnection(env.sim.kubeconfig);
    env.sim.faults.failRequests({ verb: "patch", resource: "configmaps", code: 500, times: 1 });
    await conn.objects.patch(
      { ...CM, name: "settings" },
      { metadata: { resourceVersion: created.metadata?.resourceVersion }, data: { a: "2" } },
      "merge",
    );
    expect(delays).toEqual([150]);
    env.sim.faults.failRequests({ verb: "patch", resource: "configmaps", code: 500, times: 1 });
    const error = await failure(conn.objects.patch({ ...CM, name: "settings" }, { data: { a: "3" } }, "merge"));
    expect(error).toMatchObject({ code: "UNAVAILABLE", httpStatus: 500, attempts: 1 });
    const cm = await env.conn.objects.get<{ data: Record<string, string> }>({ ...CM, name: "settings" });
    expect(cm.data).toEqual({ a: "2" });
  });

  it("retries a 429 on any write, since the server did not process it", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.conn.objects.create(configMap("settings"));
    const { conn, delays } = await retryingConnection(env.sim.kubeconfig);
    env.sim.faults.failRequests({ verb: "patch", resource: "configmaps", code: 429, times: 1 });
    await conn.objects.patch({ ...CM, name: "settings" }, { data: { a: "9" } }, "merge");
    expect(delays).toEqual([1000]);
  });

  it("sends a GET again when the connection is reset (read ECONNRESET / socket hang up)", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.conn.objects.create(configMap("settings"));
    const proxy = await resettingProxy(env.sim.url);
    const { conn, delays } = await retryingConnection(env.sim.kubeconfig.replace(env.sim.url, proxy.url));
    proxy.reset({ method: "GET", path: "/configmaps/settings", times: 2, when: "before" });
    const cm = await conn.objects.get<{ data: Record<string, string> }>({ ...CM, name: "settings" });
    expect(cm.data).toEqual({ a: "1" });
    expect(delays).toEqual([150, 300]);
    expect(proxy.seen.filter((r) => r.includes("/configmaps/settings"))).toHaveLength(3);
  });

  it("repeats a named create whose answer was lost; the repeat's AlreadyExists says it was retried", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const proxy = await resettingProxy(env.sim.url);
    const { conn, delays } = await retryingConnection(env.sim.kubeconfig.replace(env.sim.url, proxy.url));
    proxy.reset({ method: "POST", path: "/configmaps", times: 1, when: "after" });
    const error = await failure(conn.objects.create(configMap("record")));
    // The first attempt created it; the caller resolves this by reading it (attempts > 1 tells it to).
    expect(error).toMatchObject({ code: "ALREADY_EXISTS", reason: "AlreadyExists", attempts: 2 });
    expect(delays).toEqual([150]);
    const cm = await env.conn.objects.get<{ data: Record<string, string> }>({ ...CM, name: "record" });
    expect(cm.data).toEqual({ a: "1" });
  });

  it("does not repeat a create by generateName or an unconditional patch after a reset", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.conn.objects.create(configMap("settings"));
    const proxy = await resettingProxy(env.sim.url);
    const { conn, delays } = await retryingConnection(env.sim.kubeconfig.replace(env.sim.url, proxy.url));
    proxy.reset({ method: "POST", times: 1, when: "after" });
    const created = await failure(
      conn.objects.create({ ...CM, metadata: { generateName: "job-", namespace: NAMESPACE }, data: {} }),
    );
    expect(created).toMatchObject({ code: "UNAVAILABLE", attempts: 1 });
    proxy.reset({ method: "PATCH", times: 1, when: "before" });
    const patched = await failure(conn.objects.patch({ ...CM, name: "settings" }, { data: { a: "2" } }, "merge"));
    expect(patched).toMatchObject({ code: "UNAVAILABLE", attempts: 1 });
    expect(delays).toEqual([]);
    const list = await env.conn.objects.list(CM);
    expect(list.items.filter((i) => i.metadata?.name?.startsWith("job-"))).toHaveLength(1);
  });

  it("stops retrying when the caller's signal aborts during the back-off", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const stop = new AbortController();
    const { conn } = await retryingConnection(env.sim.kubeconfig, {
      retry: {
        sleep: async () => {
          stop.abort(new Error("caller gave up"));
        },
      },
    });
    env.sim.faults.failRequests({ verb: "get", resource: "configmaps", code: 503 });
    await expect(conn.objects.get({ ...CM, name: "x" }, { signal: stop.signal })).rejects.toThrow("caller gave up");
  });
});
