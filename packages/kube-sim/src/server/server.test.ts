// API conventions under test: https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md
// ("api-conventions" below), and the API concepts page (https://kubernetes.io/docs/reference/using-api/api-concepts/).
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { readEvents } from "./test-http.js";

async function call(url: string, method: string, path: string, body?: unknown, contentType = "application/json") {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": contentType },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const configMap = (name: string, data: Record<string, string> = { a: "1" }) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name },
  data,
});
const CM = "/api/v1/namespaces/default/configmaps";
const DEPLOY = "/apis/apps/v1/namespaces/default/deployments";
const ROLLOUTS = "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts";

const deployment = (name: string, image = "nginx:1.25") => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
  },
});

const rollout = (name: string) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Rollout",
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: "nginx:1.25" }] } },
    strategy: { blueGreen: { activeService: `${name}-active` } },
  },
});

describe("API server: CRUD and Status objects", () => {
  it("answers a missing object with a NotFound Status (api-conventions: Response Status Kind)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const r = await call(sim.url, "GET", `${DEPLOY}/nope`);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'deployments.apps "nope" not found',
      reason: "NotFound",
      details: { name: "nope", group: "apps", kind: "deployments" },
      code: 404,
    });
  });

  it("refuses a second create of the same name with AlreadyExists 409", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    expect((await call(sim.url, "POST", CM, configMap("x"))).status).toBe(201);
    const r = await call(sim.url, "POST", CM, configMap("x"));
    expect(r.status).toBe(409);
    expect(r.body.reason).toBe("AlreadyExists");
    expect(r.body.message).toBe('configmaps "x" already exists');
  });

  it("gives resource versions as strings of increasing integers, one counter for all kinds (api-conventions: Concurrency Control)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const a = (await call(sim.url, "POST", CM, configMap("a"))).body;
    const d = (await call(sim.url, "POST", DEPLOY, deployment("d"))).body;
    const b = (await call(sim.url, "POST", CM, configMap("b"))).body;
    const rvs = [a, d, b].map((o) => o.metadata.resourceVersion);
    for (const rv of rvs) expect(rv).toMatch(/^\d+$/);
    expect(Number(rvs[1])).toBeGreaterThan(Number(rvs[0]));
    expect(Number(rvs[2])).toBe(Number(rvs[1]) + 1);
  });

  it("rejects an update carrying a stale resourceVersion with Conflict 409 (api-conventions: Concurrency Control)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const created = (await call(sim.url, "POST", CM, configMap("c"))).body;
    const first = await call(sim.url, "PUT", `${CM}/c`, { ...created, data: { a: "2" } });
    expect(first.status).toBe(200);
    const stale = await call(sim.url, "PUT", `${CM}/c`, { ...created, data: { a: "3" } });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe("Conflict");
    expect(stale.body.message).toBe(
      'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again',
    );
    expect((await call(sim.url, "GET", `${CM}/c`)).body.data).toEqual({ a: "2" });
  });

  it("bumps generation on spec changes only, not on metadata or status writes (api-conventions: metadata.generation)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    await call(sim.url, "POST", DEPLOY, deployment("g"));
    const labelled = await call(
      sim.url,
      "PATCH",
      `${DEPLOY}/g`,
      { metadata: { labels: { x: "y" } } },
      "application/merge-patch+json",
    );
    expect(labelled.body.metadata.generation).toBe(1);
    const status = await call(
      sim.url,
      "PATCH",
      `${DEPLOY}/g/status`,
      { status: { observedGeneration: 1 } },
      "application/merge-patch+json",
    );
    expect(status.body.metadata.generation).toBe(1);
    const spec = await call(sim.url, "PATCH", `${DEPLOY}/g`, { spec: { replicas: 5 } }, "application/merge-patch+json");
    expect(spec.body.metadata.generation).toBe(2);
  });

  it("keeps status out of main-resource writes and spec out of /status writes (api-conventions: Spec and Status)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    await call(sim.url, "POST", DEPLOY, deployment("s"));
    const viaMain = await call(
      sim.url,
      "PATCH",
      `${DEPLOY}/s`,
      { status: { replicas: 9 } },
      "application/merge-patch+json",
    );
    expect(viaMain.body.status).toBeUndefined();
    const viaStatus = await call(
      sim.url,
      "PATCH",
      `${DEPLOY}/s/status`,
      { spec: { replicas: 9 }, status: { replicas: 1 } },
      "application/merge-patch+json",
    );
    expect(viaStatus.body.spec.replicas).toBe(2);
    expect(viaStatus.body.status).toEqual({ replicas: 1 });
  });

  it("does not store a write that changes nothing: same resourceVersion, no event", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const created = (await call(sim.url, "POST", CM, configMap("n"))).body;
    const again = await call(sim.url, "PUT", `${CM}/n`, created);
    expect(again.body.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });

  it("reports every invalid field of a built-in kind in one Invalid 422 with causes", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const bad = deployment("bad");
    bad.spec.replicas = -1;
    bad.spec.template.metadata.labels = { app: "other" };
    const r = await call(sim.url, "POST", DEPLOY, bad);
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe("Invalid");
    expect(r.body.details.kind).toBe("Deployment");
    expect(r.body.details.causes.map((c: { field: string }) => c.field)).toEqual([
      "spec.replicas",
      "spec.template.metadata.labels",
    ]);
    expect(r.body.message).toContain(
      'Deployment.apps "bad" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    );
  });

  it("refuses a field of the wrong JSON type with 400 before validation, as typed decoding does", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const bad = { ...deployment("t"), spec: { ...deployment("t").spec, replicas: "3" } };
    const r = await call(sim.url, "POST", DEPLOY, bad);
    expect(r.status).toBe(400);
    expect(r.body.message).toBe(
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field Deployment.spec.replicas of type int32',
    );
    const ports = await call(sim.url, "POST", "/api/v1/namespaces/default/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { ports: [80] },
    });
    expect(ports.body.message).toContain(
      "json: cannot unmarshal number into Go struct field Service.spec.ports[0] of type struct",
    );
  });

  it("refuses a name that is not an RFC 1123 subdomain", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const r = await call(sim.url, "POST", CM, configMap("Not_Valid"));
    expect(r.status).toBe(422);
    expect(r.body.details.causes[0].field).toBe("metadata.name");
  });

  it("refuses to create in a namespace that does not exist, naming it", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const r = await call(sim.url, "POST", "/api/v1/namespaces/ghost/configmaps", configMap("x"));
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('namespaces "ghost" not found');
  });

  it("refuses a protobuf body that lacks the k8s envelope with 400, naming the problem", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const res = await fetch(`${sim.url}${CM}`, {
      method: "POST",
      headers: { "Content-Type": "application/vnd.kubernetes.protobuf" },
      body: "not protobuf",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe(
      "the protobuf body does not start with the k8s\\0 envelope",
    );
  });

  it("answers an unknown path with the server's generic NotFound", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const r = await call(sim.url, "GET", "/apis/nope.example.com/v1/things");
    expect(r.status).toBe(404);
    expect(r.body.message).toBe("the server could not find the requested resource");
  });
});

describe("API server: lists, selectors and pagination", () => {
  it("filters by label selector, including set-based requirements (api-concepts: label selectors)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    for (const [name, env] of [
      ["a", "prod"],
      ["b", "staging"],
      ["c", "dev"],
    ]) {
      await call(sim.url, "POST", CM, { ...configMap(name as string), metadata: { name, labels: { env } } });
    }
    const names = async (selector: string) =>
      (await call(sim.url, "GET", `${CM}?labelSelector=${encodeURIComponent(selector)}`)).body.items.map(
        (i: { metadata: { name: string } }) => i.metadata.name,
      );
    expect(await names("env=prod")).toEqual(["a"]);
    expect(await names("env in (prod,dev)")).toEqual(["a", "c"]);
    expect(await names("env!=prod")).toEqual(["b", "c"]);
    expect(await names("!env")).toEqual([]);
    const bad = await call(sim.url, "GET", `${CM}?labelSelector=${encodeURIComponent("env in prod")}`);
    expect(bad.status).toBe(400);
  });

  it("pages a list with limit and continue, giving remainingItemCount (api-concepts: retrieving large results in chunks)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    for (const n of ["a", "b", "c", "d", "e"]) await call(sim.url, "POST", CM, configMap(n));
    const first = (await call(sim.url, "GET", `${CM}?limit=2`)).body;
    expect(first.kind).toBe("ConfigMapList");
    expect(first.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["a", "b"]);
    expect(first.metadata.remainingItemCount).toBe(3);
    const second = (await call(sim.url, "GET", `${CM}?limit=2&continue=${first.metadata.continue}`)).body;
    expect(second.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["c", "d"]);
    const third = (await call(sim.url, "GET", `${CM}?limit=2&continue=${second.metadata.continue}`)).body;
    expect(third.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["e"]);
    expect(third.metadata.continue).toBeUndefined();
  });

  it("refuses a field selector on an unsupported field with 400", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const r = await call(sim.url, "GET", `${CM}?fieldSelector=data.a%3D1`);
    expect(r.status).toBe(400);
    expect(r.body.message).toBe("field label not supported: data.a");
  });
});

describe("API server: watch", () => {
  it("replays changes after a resourceVersion, in order (api-concepts: efficient detection of changes)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const a = (await call(sim.url, "POST", CM, configMap("a"))).body;
    await call(sim.url, "PATCH", `${CM}/a`, { data: { a: "2" } }, "application/merge-patch+json");
    await call(sim.url, "DELETE", `${CM}/a`);
    const events = await readEvents(sim.url, `${CM}?watch=true&resourceVersion=${a.metadata.resourceVersion}`, 2);
    expect(events.map((e) => e.type)).toEqual(["MODIFIED", "DELETED"]);
  });

  it("starts with synthetic ADDED events when no resourceVersion is given, then streams changes", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    await call(sim.url, "POST", CM, configMap("a"));
    const pending = readEvents(sim.url, `${CM}?watch=1`, 2);
    await new Promise((r) => setTimeout(r, 50));
    await call(sim.url, "POST", CM, configMap("b"));
    const events = await pending;
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ["ADDED", "a"],
      ["ADDED", "b"],
    ]);
  });

  it("turns a label change that leaves the selector into DELETED and one that enters it into ADDED (api-concepts: watch with selectors)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const start = sim.store.resourceVersion();
    await call(sim.url, "POST", CM, { ...configMap("a"), metadata: { name: "a", labels: { env: "prod" } } });
    await call(sim.url, "PATCH", `${CM}/a`, { metadata: { labels: { env: "dev" } } }, "application/merge-patch+json");
    await call(sim.url, "PATCH", `${CM}/a`, { metadata: { labels: { env: "prod" } } }, "application/merge-patch+json");
    const events = await readEvents(sim.url, `${CM}?watch=true&labelSelector=env%3Dprod&resourceVersion=${start}`, 3);
    expect(events.map((e) => e.type)).toEqual(["ADDED", "DELETED", "ADDED"]);
  });

  it("ends the stream after timeoutSeconds", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const res = await fetch(
      `${sim.url}${CM}?watch=true&timeoutSeconds=1&resourceVersion=${sim.store.resourceVersion()}`,
    );
    expect(await res.text()).toBe("");
  });

  it("sends one ERROR event with 410 Expired when the resourceVersion is too old (api-concepts: 410 Gone)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const a = (await call(sim.url, "POST", CM, configMap("a"))).body;
    await call(sim.url, "PATCH", `${CM}/a`, { data: { a: "2" } }, "application/merge-patch+json");
    sim.faults.expireWatchHistory();
    const events = await readEvents(sim.url, `${CM}?watch=true&resourceVersion=${a.metadata.resourceVersion}`, 1);
    expect(events[0]?.type).toBe("ERROR");
    expect(events[0]?.object.code).toBe(410);
    expect(events[0]?.object.reason).toBe("Expired");
  });
});

describe("API server: custom resources from the upstream CRDs", () => {
  it("serves Rollouts with defaults from the schema and a status subresource", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const created = await call(sim.url, "POST", ROLLOUTS, rollout("r"));
    expect(created.status).toBe(201);
    expect(created.body.metadata.generation).toBe(1);
    const status = await call(
      sim.url,
      "PATCH",
      `${ROLLOUTS}/r/status`,
      { status: { phase: "Healthy" } },
      "application/merge-patch+json",
    );
    expect(status.body.status.phase).toBe("Healthy");
    expect(status.body.metadata.generation).toBe(1);
  });

  it("refuses a wrongly typed field with the kube-openapi message", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const bad = { ...rollout("r"), spec: { ...rollout("r").spec, replicas: "three" } };
    const r = await call(sim.url, "POST", ROLLOUTS, bad);
    expect(r.status).toBe(422);
    expect(r.body.message).toBe(
      'Rollout.argoproj.io "r" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    );
  });

  it("prunes unknown fields with a warning, or refuses them with fieldValidation=Strict", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const extra = { ...rollout("w"), spec: { ...rollout("w").spec, bogus: true } };
    const warned = await call(sim.url, "POST", ROLLOUTS, extra);
    expect(warned.status).toBe(201);
    expect(warned.body.spec.bogus).toBeUndefined();
    expect(warned.headers.get("warning")).toBe('299 - "unknown field \\"spec.bogus\\""');
    const strict = await call(sim.url, "POST", `${ROLLOUTS}?fieldValidation=Strict`, {
      ...extra,
      metadata: { name: "w2" },
    });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe(
      'Rollout in version "v1alpha1" cannot be handled as a Rollout: strict decoding error: unknown field "spec.bogus"',
    );
  });

  it("refuses a strategic merge patch on a custom resource with 415, as the real server does", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    await call(sim.url, "POST", ROLLOUTS, rollout("p"));
    const r = await call(
      sim.url,
      "PATCH",
      `${ROLLOUTS}/p`,
      { spec: { replicas: 2 } },
      "application/strategic-merge-patch+json",
    );
    expect(r.status).toBe(415);
    expect(r.body.reason).toBe("UnsupportedMediaType");
  });
});
