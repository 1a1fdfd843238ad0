/**
 * Just enough of the Kubernetes protobuf encoding to accept what kubectl's generator commands send
 * (`kubectl create namespace|configmap|secret|serviceaccount|deployment|job|service`): client-go's typed clients encode request bodies
 * as `application/vnd.kubernetes.protobuf` and do not fall back to JSON. The envelope is "k8s\0" followed by a
 * runtime.Unknown {typeMeta, raw}; `raw` is decoded for Namespace, ConfigMap, Secret, ServiceAccount, Service,
 * Deployment and Job (the fields kubectl's generators and common manifests set), with
 * field numbers from k8s.io/api/core/v1/generated.proto and apimachinery's meta/v1 ObjectMeta.
 * Other kinds get 415 with a message that names the alternative (kubectl apply -f / create -f send JSON).
 */
import { KubeApiError } from "../errors.js";

export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Field = { num: number; wire: number; value: bigint | Buffer };

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[pos];
    if (byte === undefined) throw new Error("truncated varint");
    pos++;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = readVarint(buf, pos);
    pos = p;
    const num = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, q] = readVarint(buf, pos);
      out.push({ num, wire, value: v });
      pos = q;
    } else if (wire === 2) {
      const [len, q] = readVarint(buf, pos);
      const end = q + Number(len);
      if (end > buf.length) throw new Error("truncated field");
      out.push({ num, wire, value: buf.subarray(q, end) });
      pos = end;
    } else if (wire === 1) {
      out.push({ num, wire, value: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wire === 5) {
      out.push({ num, wire, value: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const str = (f: Field) => (f.value as Buffer).toString("utf8");
const num = (f: Field) => Number(f.value as bigint);

function map(buf: Buffer, bytes: boolean): [string, string] {
  let key = "";
  let value = "";
  for (const f of fields(buf)) {
    if (f.num === 1) key = str(f);
    if (f.num === 2) value = bytes ? (f.value as Buffer).toString("base64") : str(f);
  }
  return [key, value];
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const finalizers: string[] = [];
  const owners: Record<string, unknown>[] = [];
  for (const f of fields(buf)) {
    switch (f.num) {
      case 1:
        if (str(f) !== "") meta.name = str(f);
        break;
      case 2:
        if (str(f) !== "") meta.generateName = str(f);
        break;
      case 3:
        if (str(f) !== "") meta.namespace = str(f);
        break;
      case 6:
        if (str(f) !== "") meta.resourceVersion = str(f);
        break;
      case 11: {
        const [k, v] = map(f.value as Buffer, false);
        labels[k] = v;
        break;
      }
      case 12: {
        const [k, v] = map(f.value as Buffer, false);
        annotations[k] = v;
        break;
      }
      case 13: {
        const ref: Record<string, unknown> = {};
        for (const g of fields(f.value as Buffer)) {
          if (g.num === 1) ref.kind = str(g);
          if (g.num === 3) ref.name = str(g);
          if (g.num === 4) ref.uid = str(g);
          if (g.num === 5) ref.apiVersion = str(g);
          if (g.num === 6) ref.controller = num(g) !== 0;
          if (g.num === 7) ref.blockOwnerDeletion = num(g) !== 0;
        }
        owners.push(ref);
        break;
      }
      case 14:
        finalizers.push(str(f));
        break;
    }
  }
  if (Object.keys(labels).length) meta.labels = labels;
  if (Object.keys(annotations).length) meta.annotations = annotations;
  if (finalizers.length) meta.finalizers = finalizers;
  if (owners.length) meta.ownerReferences = owners;
  return meta;
}

type Decoder = (f: Field, obj: Record<string, unknown>) => void;

function collectMap(obj: Record<string, unknown>, key: string, f: Field, bytes: boolean): void {
  const [k, v] = map(f.value as Buffer, bytes);
  const m = (obj[key] ?? {}) as Record<string, string>;
  m[k] = v;
  obj[key] = m;
}

const decoders: Record<string, Decoder> = {
  Namespace: (f, obj) => {
    if (f.num === 2)
      obj.spec = {
        finalizers: fields(f.value as Buffer)
          .filter((g) => g.num === 1)
          .map(str),
      };
  },
  ConfigMap: (f, obj) => {
    if (f.num === 2) collectMap(obj, "data", f, false);
    if (f.num === 3) collectMap(obj, "binaryData", f, true);
    if (f.num === 4) obj.immutable = num(f) !== 0;
  },
  Secret: (f, obj) => {
    if (f.num === 2) collectMap(obj, "data", f, true);
    if (f.num === 3) obj.type = str(f);
    if (f.num === 4) collectMap(obj, "stringData", f, false);
    if (f.num === 5) obj.immutable = num(f) !== 0;
  },
  ServiceAccount: (f, obj) => {
    if (f.num === 4) obj.automountServiceAccountToken = num(f) !== 0;
  },
  // `kubectl auth can-i`: k8s.io/api/authorization/v1 SelfSubjectAccessReviewSpec {resourceAttributes = 1,
  // nonResourceAttributes = 2}; ResourceAttributes {namespace 1, verb 2, group 3, version 4, resource 5,
  // subresource 6, name 7}; NonResourceAttributes {path 1, verb 2}.
  SelfSubjectAccessReview: (f, obj) => {
    if (f.num !== 2) return;
    const spec: Record<string, unknown> = {};
    for (const g of fields(f.value as Buffer)) {
      const names =
        g.num === 1
          ? ["namespace", "verb", "group", "version", "resource", "subresource", "name"]
          : g.num === 2
            ? ["path", "verb"]
            : undefined;
      if (!names) continue;
      const attrs: Record<string, string> = {};
      for (const h of fields(g.value as Buffer)) {
        const name = names[h.num - 1];
        if (name && h.wire === 2) attrs[name] = str(h);
      }
      spec[g.num === 1 ? "resourceAttributes" : "nonResourceAttributes"] = attrs;
    }
    obj.spec = spec;
  },
};

// ----- Deployment, Job and Service (kubectl create deployment|job|service) -----
//
// A message is described field by field with the numbers of k8s.io/api's generated.proto (apps/v1, batch/v1,
// core/v1) and apimachinery's meta/v1 and util/intstr. Go's gogo-protobuf marshaller writes every non-pointer field,
// zero values included, so a non-pointer scalar that is zero or empty is dropped (as `omitempty` drops it in JSON);
// pointer fields (`ptr`) keep their zero (`replicas: 0`). Fields not listed are skipped.

type Kind = "string" | "int" | "bool" | "strings" | "map" | "quantities" | "intstr" | Desc;
type Spec = [num: number, name: string, kind: Kind, flags?: "ptr" | "repeated"];
interface Desc {
  fields: Spec[];
}

const intOf = (f: Field) => Number(BigInt.asIntN(64, f.value as bigint));

const LabelSelectorRequirement: Desc = {
  fields: [
    [1, "key", "string"],
    [2, "operator", "string"],
    [3, "values", "strings"],
  ],
};
const LabelSelector: Desc = {
  fields: [
    [1, "matchLabels", "map"],
    [2, "matchExpressions", LabelSelectorRequirement, "repeated"],
  ],
};
const ContainerPort: Desc = {
  fields: [
    [1, "name", "string"],
    [2, "hostPort", "int"],
    [3, "containerPort", "int"],
    [4, "protocol", "string"],
    [5, "hostIP", "string"],
  ],
};
const EnvVar: Desc = {
  fields: [
    [1, "name", "string"],
    [2, "value", "string"],
  ],
};
const ResourceRequirements: Desc = {
  fields: [
    [1, "limits", "quantities"],
    [2, "requests", "quantities"],
  ],
};
const Container: Desc = {
  fields: [
    [1, "name", "string"],
    [2, "image", "string"],
    [3, "command", "strings"],
    [4, "args", "strings"],
    [5, "workingDir", "string"],
    [6, "ports", ContainerPort, "repeated"],
    [7, "env", EnvVar, "repeated"],
    [8, "resources", ResourceRequirements],
    [13, "terminationMessagePath", "string"],
    [14, "imagePullPolicy", "string"],
    [16, "stdin", "bool"],
    [17, "stdinOnce", "bool"],
    [18, "tty", "bool"],
    [20, "terminationMessagePolicy", "string"],
  ],
};
const PodSpec: Desc = {
  fields: [
    [2, "containers", Container, "repeated"],
    [3, "restartPolicy", "string"],
    [4, "terminationGracePeriodSeconds", "int", "ptr"],
    [5, "activeDeadlineSeconds", "int", "ptr"],
    [6, "dnsPolicy", "string"],
    [7, "nodeSelector", "map"],
    [8, "serviceAccountName", "string"],
    [9, "serviceAccount", "string"],
    [10, "nodeName", "string"],
    [16, "hostname", "string"],
    [17, "subdomain", "string"],
    [19, "schedulerName", "string"],
    [20, "initContainers", Container, "repeated"],
    [21, "automountServiceAccountToken", "bool", "ptr"],
    [24, "priorityClassName", "string"],
    [30, "enableServiceLinks", "bool", "ptr"],
  ],
};
const PodTemplateSpec: Desc = {
  fields: [
    [1, "metadata", { fields: [] }],
    [2, "spec", PodSpec],
  ],
};
const RollingUpdateDeployment: Desc = {
  fields: [
    [1, "maxUnavailable", "intstr", "ptr"],
    [2, "maxSurge", "intstr", "ptr"],
  ],
};
const DeploymentSpec: Desc = {
  fields: [
    [1, "replicas", "int", "ptr"],
    [2, "selector", LabelSelector],
    [3, "template", PodTemplateSpec],
    [
      4,
      "strategy",
      {
        fields: [
          [1, "type", "string"],
          [2, "rollingUpdate", RollingUpdateDeployment],
        ],
      },
    ],
    [5, "minReadySeconds", "int"],
    [6, "revisionHistoryLimit", "int", "ptr"],
    [7, "paused", "bool"],
    [9, "progressDeadlineSeconds", "int", "ptr"],
  ],
};
const JobSpec: Desc = {
  fields: [
    [1, "parallelism", "int", "ptr"],
    [2, "completions", "int", "ptr"],
    [3, "activeDeadlineSeconds", "int", "ptr"],
    [4, "selector", LabelSelector],
    [5, "manualSelector", "bool", "ptr"],
    [6, "template", PodTemplateSpec],
    [7, "backoffLimit", "int", "ptr"],
    [8, "ttlSecondsAfterFinished", "int", "ptr"],
    [9, "completionMode", "string", "ptr"],
    [10, "suspend", "bool", "ptr"],
  ],
};
const ServicePort: Desc = {
  fields: [
    [1, "name", "string"],
    [2, "protocol", "string"],
    [3, "port", "int"],
    [4, "targetPort", "intstr"],
    [5, "nodePort", "int"],
    [6, "appProtocol", "string", "ptr"],
  ],
};
const ServiceSpec: Desc = {
  fields: [
    [1, "ports", ServicePort, "repeated"],
    [2, "selector", "map"],
    [3, "clusterIP", "string"],
    [4, "type", "string"],
    [5, "externalIPs", "strings"],
    [7, "sessionAffinity", "string"],
    [10, "externalName", "string"],
    [11, "externalTrafficPolicy", "string"],
    [18, "clusterIPs", "strings"],
  ],
};

/** IntOrString {type = 1 (0 int, 1 string), intVal = 2, strVal = 3}. */
function intOrString(buf: Buffer): number | string {
  let type = 0;
  let intVal = 0;
  let strVal = "";
  for (const f of fields(buf)) {
    if (f.num === 1) type = intOf(f);
    if (f.num === 2) intVal = intOf(f);
    if (f.num === 3) strVal = str(f);
  }
  return type === 1 ? strVal : intVal;
}

function message(buf: Buffer, desc: Desc, meta = false): Record<string, unknown> {
  if (meta) return objectMeta(buf);
  const out: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const spec = desc.fields.find((d) => d[0] === f.num);
    if (!spec) continue;
    const [, name, kind, flag] = spec;
    const ptr = flag === "ptr";
    if (kind === "string") {
      const v = str(f);
      if (v !== "" || ptr) out[name] = v;
    } else if (kind === "int") {
      const v = intOf(f);
      if (v !== 0 || ptr) out[name] = v;
    } else if (kind === "bool") {
      const v = intOf(f) !== 0;
      if (v || ptr) out[name] = v;
    } else if (kind === "strings") {
      out[name] = [...((out[name] as string[] | undefined) ?? []), str(f)];
    } else if (kind === "map" || kind === "quantities") {
      const [k, v] =
        kind === "map"
          ? map(f.value as Buffer, false)
          : (() => {
              // map<string, Quantity>: the value is a Quantity message {string = 1}.
              let key = "";
              let q = "";
              for (const g of fields(f.value as Buffer)) {
                if (g.num === 1) key = str(g);
                if (g.num === 2) for (const h of fields(g.value as Buffer)) if (h.num === 1) q = str(h);
              }
              return [key, q];
            })();
      out[name] = { ...((out[name] as Record<string, string> | undefined) ?? {}), [k]: v };
    } else if (kind === "intstr") {
      out[name] = intOrString(f.value as Buffer);
    } else {
      const value = message(f.value as Buffer, kind, name === "metadata");
      if (flag === "repeated") out[name] = [...((out[name] as unknown[] | undefined) ?? []), value];
      else out[name] = value;
    }
  }
  return out;
}

const specOf =
  (desc: Desc): Decoder =>
  (f, obj) => {
    if (f.num === 2) obj.spec = message(f.value as Buffer, desc);
  };

decoders.Deployment = specOf(DeploymentSpec);
decoders.Job = specOf(JobSpec);
decoders.Service = specOf(ServiceSpec);

const protobufVersions: Record<string, string> = {
  SelfSubjectAccessReview: "authorization.k8s.io/v1",
  Deployment: "apps/v1",
  Job: "batch/v1",
};

/** Decodes a protobuf request body into the JSON object it stands for, or explains why it cannot. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC))
    throw new KubeApiError(400, "BadRequest", "the protobuf body does not start with the k8s\\0 envelope");
  let apiVersion = "";
  let kind = "";
  let raw: Buffer | undefined;
  try {
    for (const f of fields(body.subarray(4))) {
      if (f.num === 1)
        for (const g of fields(f.value as Buffer)) {
          if (g.num === 1) apiVersion = str(g);
          if (g.num === 2) kind = str(g);
        }
      if (f.num === 2) raw = f.value as Buffer;
    }
    const decode = decoders[kind];
    if (!decode || apiVersion !== (protobufVersions[kind] ?? "v1") || !raw) {
      throw new KubeApiError(
        415,
        "UnsupportedMediaType",
        `kube-sim reads protobuf only for v1 Namespace, ConfigMap, Secret, ServiceAccount, Service, apps/v1 Deployment, batch/v1 Job and authorization.k8s.io/v1 SelfSubjectAccessReview, not ${apiVersion} ${kind || "(no kind)"}; send JSON instead (kubectl apply -f or kubectl create -f)`,
      );
    }
    const obj: Record<string, unknown> = { apiVersion, kind };
    for (const f of fields(raw)) {
      if (f.num === 1) obj.metadata = objectMeta(f.value as Buffer);
      else decode(f, obj);
    }
    return obj;
  } catch (error) {
    if (error instanceof KubeApiError) throw error;
    throw new KubeApiError(400, "BadRequest", `the protobuf body cannot be decoded: ${(error as Error).message}`);
  }
}
