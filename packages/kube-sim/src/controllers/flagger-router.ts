/**
 * Flagger's mesh routers (fluxcd/flagger pkg/router, factory.go MeshRouter), reduced to what decides whether a
 * Canary can progress: the routing objects each provider creates or requires, with Flagger's error text when it
 * cannot. `nginx` (and `skipper`) need the Ingress `spec.ingressRef` names, with a backend for the apex Service,
 * and create `<ingress>-canary` (nginx: `canary: "true"`, `canary-weight: "0"` annotations); `istio` creates the
 * canary and primary DestinationRules and the VirtualService; contour an HTTPProxy; gatewayapi an HTTPRoute;
 * linkerd/smi/osm a TrafficSplit; traefik a TraefikService; kuma a TrafficRoute; gloo a RouteTable; apisix needs
 * the ApisixRoute `spec.routeRef` names. A kind the API server does not serve (no CRD: no mesh installed) fails as
 * client-go fails, so the Canary stays where it is with a warning event, as on a cluster without that mesh.
 * Not simulated: what the routes inside those objects say (weights live in the Canary status), appmesh and knative.
 */
import type { Canary } from "./flagger-model.js";
import { controllerRefTo } from "./workload.js";

// biome-ignore lint/suspicious/noExplicitAny: routing objects are arbitrary custom resources
type Obj = any;

export interface RouterWorld {
  /** The plural resource name of a kind the API server serves, or undefined when it serves no such kind. */
  resourceOf(apiVersion: string, kind: string): string | undefined;
  getObject(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<Obj | undefined>;
  createObject(apiVersion: string, kind: string, namespace: string | undefined, obj: Obj): Promise<void>;
}

const INGRESS = { apiVersion: "networking.k8s.io/v1", kind: "Ingress" };
const NGINX_ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io";

interface RoutingObject {
  apiVersion: string;
  kind: string;
  name: string;
  /** Cluster-scoped kinds (kuma's TrafficRoute) have no namespace in the error. */
  clusterScoped?: boolean;
  spec: Obj;
  /** Prefix of the error, as the router wraps it (istio: "reconcileDestinationRule failed: "). */
  wrap?: string;
}

function names(cd: Canary): { apex: string; primary: string; canary: string } {
  const apex = (cd.spec.service?.name as string | undefined) ?? cd.spec.targetRef.name;
  return { apex, primary: `${apex}-primary`, canary: `${apex}-canary` };
}

function routes(cd: Canary): Obj[] {
  const n = names(cd);
  return [
    { destination: { host: n.primary }, weight: 100 },
    { destination: { host: n.canary }, weight: 0 },
  ];
}

/** The objects a CRD-backed router creates for the Canary, in the order it creates them. */
function routingObjects(provider: string, cd: Canary): RoutingObject[] | undefined {
  const n = names(cd);
  const backends = [
    { name: n.primary, port: cd.spec.service.port, weight: 100 },
    { name: n.canary, port: cd.spec.service.port, weight: 0 },
  ];
  if (provider === "istio")
    return [
      ...[n.canary, n.primary].map((host) => ({
        apiVersion: "networking.istio.io/v1beta1",
        kind: "DestinationRule",
        name: host,
        spec: { host },
        wrap: "reconcileDestinationRule failed: ",
      })),
      {
        apiVersion: "networking.istio.io/v1beta1",
        kind: "VirtualService",
        name: n.apex,
        spec: { hosts: [n.apex], http: [{ route: routes(cd) }] },
        wrap: "reconcileVirtualService failed: ",
      },
    ];
  if (provider === "contour")
    return [
      {
        apiVersion: "projectcontour.io/v1",
        kind: "HTTPProxy",
        name: n.apex,
        spec: { routes: [{ services: backends }] },
      },
    ];
  if (provider.startsWith("gatewayapi")) {
    const version = provider.startsWith("gatewayapi:v1beta1") ? "v1beta1" : "v1";
    return [
      {
        apiVersion: `gateway.networking.k8s.io/${version}`,
        kind: "HTTPRoute",
        name: n.apex,
        spec: { rules: [{ backendRefs: backends }] },
      },
    ];
  }
  const smi = /^smi:(v1alpha[123])/.exec(provider)?.[1];
  if (provider === "linkerd" || provider === "osm" || smi) {
    const version = smi ?? (provider === "osm" ? "v1alpha2" : "v1alpha1");
    return [
      {
        apiVersion: `split.smi-spec.io/${version}`,
        kind: "TrafficSplit",
        name: n.apex,
        spec: {
          service: n.apex,
          backends: backends.map((b) => ({ service: b.name, weight: b.weight })),
        },
      },
    ];
  }
  if (provider === "traefik")
    return [
      {
        apiVersion: "traefik.io/v1alpha1",
        kind: "TraefikService",
        name: n.apex,
        spec: { weighted: { services: backends } },
      },
    ];
  if (provider === "kuma")
    return [
      {
        apiVersion: "kuma.io/v1alpha1",
        kind: "TrafficRoute",
        name: n.apex,
        clusterScoped: true,
        spec: {
          conf: { split: backends.map((b) => ({ weight: b.weight, destination: { "kuma.io/service": b.name } })) },
        },
      },
    ];
  if (provider.startsWith("gloo"))
    return [
      {
        apiVersion: "gateway.solo.io/v1",
        kind: "RouteTable",
        name: n.apex,
        spec: { routes: [{ matchers: [{ prefix: "/" }], routeAction: { multi: { destinations: backends } } }] },
      },
    ];
  return undefined;
}

/** The GET/POST error client-go gives for a kind the server does not serve. */
function notServed(verb: "get" | "post", resource: string, group: string): string {
  return `the server could not find the requested resource (${verb} ${resource}.${group})`;
}

/** The Ingress routers (nginx, skipper): the referenced Ingress must exist and route to the apex Service. */
async function reconcileIngress(world: RouterWorld, cd: Canary, provider: string): Promise<string | undefined> {
  const ns = cd.metadata.namespace ?? "default";
  const ref = cd.spec.ingressRef as { name?: string } | undefined;
  if (!ref?.name) return "ingress selector is empty";
  const ingress = await world.getObject(INGRESS.apiVersion, INGRESS.kind, ns, ref.name);
  if (!ingress) return `ingress ${ref.name}.${ns} get query error: ingresses.networking.k8s.io "${ref.name}" not found`;
  const { apex, canary } = names(cd);
  const spec = structuredClone(ingress.spec ?? {});
  let backendExists = false;
  for (const rule of spec.rules ?? [])
    for (const path of rule.http?.paths ?? [])
      if (path.backend?.service?.name === apex) {
        path.backend.service.name = canary;
        backendExists = true;
      }
  if (!backendExists) return `backend ${apex} not found in ingress ${ref.name}`;
  const canaryName = `${ref.name}-canary`;
  if (await world.getObject(INGRESS.apiVersion, INGRESS.kind, ns, canaryName)) return undefined;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries((ingress.metadata?.annotations ?? {}) as Record<string, string>)) {
    if (k.includes("kubectl.kubernetes.io/last-applied-configuration")) continue;
    if (provider === "nginx" && k.includes(`${NGINX_ANNOTATION_PREFIX}/canary`)) continue;
    annotations[k] = v;
  }
  if (provider === "nginx") {
    annotations[`${NGINX_ANNOTATION_PREFIX}/canary`] = "true";
    annotations[`${NGINX_ANNOTATION_PREFIX}/canary-weight`] = "0";
  }
  await world.createObject(INGRESS.apiVersion, INGRESS.kind, ns, {
    apiVersion: INGRESS.apiVersion,
    kind: INGRESS.kind,
    metadata: {
      name: canaryName,
      namespace: ns,
      annotations,
      labels: ingress.metadata?.labels,
      ownerReferences: [ownerRef(cd)],
    },
    spec,
  });
  return undefined;
}

function ownerRef(cd: Canary): Obj {
  return controllerRefTo(
    "flagger.app/v1beta1",
    "Canary",
    cd.metadata.name,
    (cd.metadata as { uid?: string }).uid ?? "",
  );
}

/**
 * meshRouter.Reconcile for the Canary's provider: undefined when the routing objects are in place (created if
 * needed), else the error Flagger records as a warning before it stops this tick.
 */
export async function reconcileMeshRouter(world: RouterWorld, cd: Canary): Promise<string | undefined> {
  const provider = cd.spec.provider ?? "kubernetes";
  if (provider === "kubernetes") return undefined;
  if (provider === "nginx" || provider === "skipper") return reconcileIngress(world, cd, provider);
  const ns = cd.metadata.namespace ?? "default";
  if (provider === "apisix") {
    const ref = cd.spec.routeRef as { name?: string } | undefined;
    if (!ref?.name) return "apisix route selector is empty";
    const resource = world.resourceOf("apisix.apache.org/v2", "ApisixRoute");
    if (!resource)
      return `apisix route ${ref.name}.${ns} get query error: ${notServed("get", "apisixroutes", "apisix.apache.org")}`;
    const route = await world.getObject("apisix.apache.org/v2", "ApisixRoute", ns, ref.name);
    if (!route)
      return `apisix route ${ref.name}.${ns} get query error: apisixroutes.apisix.apache.org "${ref.name}" not found`;
    return undefined;
  }
  // The default case of MeshRouter is istio, for any provider it does not know.
  const objects =
    routingObjects(provider, cd) ??
    (provider.startsWith("appmesh") || provider === "knative" ? undefined : routingObjects("istio", cd));
  if (!objects) return `kube-sim does not simulate Flagger's ${provider} router`;
  for (const o of objects) {
    const where = o.clusterScoped ? o.name : `${o.name}.${ns}`;
    const resource = world.resourceOf(o.apiVersion, o.kind);
    const group = o.apiVersion.split("/")[0] as string;
    if (!resource) {
      const plural = o.kind === "HTTPProxy" ? "httpproxies" : `${o.kind.toLowerCase()}s`;
      return `${o.wrap ?? ""}${o.kind} ${where} create error: ${notServed("post", plural, group)}`;
    }
    const namespace = o.clusterScoped ? undefined : ns;
    if (await world.getObject(o.apiVersion, o.kind, namespace, o.name)) continue;
    await world.createObject(o.apiVersion, o.kind, namespace, {
      apiVersion: o.apiVersion,
      kind: o.kind,
      // A cluster-scoped object cannot be owned by a namespaced Canary.
      metadata: { name: o.name, ...(namespace ? { namespace, ownerReferences: [ownerRef(cd)] } : {}) },
      spec: o.spec,
    });
  }
  return undefined;
}
