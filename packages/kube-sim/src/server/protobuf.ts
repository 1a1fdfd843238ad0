/**
 * Just enough of the Kubernetes protobuf encoding to accept what kubectl's generator commands send
 * (`kubectl create namespace|configmap|secret|serviceaccount`): client-go's typed clients encode request bodies
 * as `application/vnd.kubernetes.protobuf` and do not fall back to JSON. The envelope is "k8s\0" followed by a
 * runtime.Unknown {typeMeta, raw}; `raw` is decoded for Namespace, ConfigMap, Secret and ServiceAccount, with
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
        meta.name = str(f);
        break;
      case 2:
        meta.generateName = str(f);
        break;
      case 3:
        meta.namespace = str(f);
        break;
      case 6:
        meta.resourceVersion = str(f);
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

const protobufVersions: Record<string, string> = { SelfSubjectAccessReview: "authorization.k8s.io/v1" };

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
        `kube-sim reads protobuf only for v1 Namespace, ConfigMap, Secret, ServiceAccount and authorization.k8s.io/v1 SelfSubjectAccessReview, not ${apiVersion} ${kind || "(no kind)"}; send JSON instead (kubectl apply -f or kubectl create -f)`,
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
