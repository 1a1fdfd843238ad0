/**
 * The Endpoints controller (pkg/controller/endpoint): for each Service with a selector, an Endpoints object of the
 * same name listing the IPs of matching pods, ready ones under `addresses` and the others under
 * `notReadyAddresses`, with the Service's ports resolved against each pod (named target ports included).
 * This is how a test sees which pods a Service would send traffic to. EndpointSlices are not written.
 */
import type { KubeObject } from "../crds.js";
import { fromLabelSelectorObject, matchesLabels } from "../selectors.js";
import { defineController, keyOf, type ObjectKey } from "./runtime.js";
import { isPodActive, isPodReady, type Obj, typeOf } from "./workload.js";

function resolvePort(servicePort: Obj, pod: KubeObject): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === "number") return target;
  for (const c of ((pod.spec as Obj)?.containers ?? []) as Obj[]) {
    for (const p of (c.ports ?? []) as Obj[]) if (p.name === target) return p.containerPort;
  }
  return /^\d+$/.test(String(target)) ? Number(target) : undefined;
}

export const endpointsController = defineController({
  name: "endpoints",
  for: { apiVersion: "v1", kind: "Service" },
  watches: [
    {
      ref: { apiVersion: "v1", kind: "Pod" },
      // Every Service of the pod's namespace is re-checked; selectors are cheap to match.
      map: (pod) => [{ namespace: pod.metadata.namespace, name: "\u0000all" }],
    },
  ],
  reconcile(ctx, key) {
    const services = typeOf(ctx.store, "", "services");
    if (key.name === "\u0000all") {
      for (const svc of ctx.store.listRaw(services, key.namespace).items) syncOne(ctx, keyOf(svc));
      return undefined;
    }
    syncOne(ctx, key);
    return undefined;
  },
});

function syncOne(ctx: Parameters<typeof endpointsController.reconcile>[0], key: ObjectKey): void {
  const { store } = ctx;
  const services = typeOf(store, "", "services");
  const endpoints = typeOf(store, "", "endpoints");
  const pods = typeOf(store, "", "pods");
  const svc = store.peek(services, key.namespace, key.name);
  const existing = store.peek(endpoints, key.namespace, key.name);
  const selector = (svc?.spec as Obj)?.selector as Record<string, string> | undefined;
  if (!svc || !selector || Object.keys(selector).length === 0) {
    // Services without a selector keep hand-written Endpoints; a deleted Service's Endpoints go with it.
    if (!svc && existing?.metadata.labels?.["kube-sim.rollway.dev/managed"] === "true")
      store.delete(endpoints, key.namespace, key.name);
    return;
  }
  const sel = fromLabelSelectorObject({ matchLabels: selector });
  const matching = store
    .listRaw(pods, key.namespace)
    .items.filter((p) => isPodActive(p) && (p.status as Obj)?.podIP && matchesLabels(sel, p.metadata.labels))
    .sort((a, b) => String((a.status as Obj).podIP).localeCompare(String((b.status as Obj).podIP)));
  const ports = (((svc.spec as Obj).ports ?? []) as Obj[]).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    port: matching[0] ? resolvePort(p, matching[0]) : typeof p.targetPort === "number" ? p.targetPort : p.port,
    protocol: p.protocol ?? "TCP",
  }));
  const address = (p: KubeObject) => ({
    ip: (p.status as Obj).podIP,
    nodeName: (p.spec as Obj).nodeName,
    targetRef: { kind: "Pod", namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid },
  });
  const ready = matching.filter(isPodReady).map(address);
  const notReady = matching.filter((p) => !isPodReady(p)).map(address);
  const subsets =
    matching.length === 0
      ? []
      : [
          {
            ...(ready.length ? { addresses: ready } : {}),
            ...(notReady.length ? { notReadyAddresses: notReady } : {}),
            ports,
          },
        ];
  const body = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      name: key.name,
      namespace: key.namespace,
      labels: { ...(svc.metadata.labels ?? {}), "kube-sim.rollway.dev/managed": "true" },
    },
    subsets,
  };
  if (!existing) store.create(endpoints, key.namespace, body);
  else
    store.update(endpoints, key.namespace, key.name, {
      ...existing,
      metadata: { ...existing.metadata, labels: body.metadata.labels },
      subsets,
    });
}
