/**
 * Loads CustomResourceDefinitions from YAML files and turns them into resource types.
 *
 * The upstream CRDs are large (the Rollout CRD alone is 570 KB) and parsing them takes over a second, so parsed
 * documents are cached twice: in memory for the life of the process and on disk (as JSON, keyed by the SHA-256 of
 * the file) so a fresh process starts fast too.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import jsYaml from "js-yaml";
import { KubeSimError } from "./errors.js";
import type { PrinterColumn, ResourceType } from "./resources.js";

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
};

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [key: string]: unknown;
}

const parsedByHash = new Map<string, KubeObject[]>();
const cacheDir = join(tmpdir(), "rollway-kube-sim-cache");

function moduleDir(): string {
  // tsup's --shims gives CJS builds an import.meta.url too.
  return dirname(fileURLToPath(import.meta.url));
}

/** The package's own copy of the upstream CRDs (`crds/`), next to `src/` and `dist/`. */
export function bundledCrdDir(): string {
  return resolve(moduleDir(), "..", "crds");
}

/** Upstream CRDs shipped only in the package (argoproj/argo-rollouts@9f8d111d `manifests/crds/`). */
const PACKAGE_ONLY_CRDS = ["cluster-analysis-template-crd.yaml", "experiment-crd.yaml"];

/**
 * Where CRDs come from by default: the repository's shared fixtures when the package runs inside the rollway
 * repository (plus the ClusterAnalysisTemplate and Experiment CRDs the package ships), else the copy shipped in
 * the package.
 */
export function defaultCrdSources(): string[] {
  let dir = resolve(moduleDir(), "..");
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "shared", "fixtures");
    if (existsSync(join(candidate, "argo-rollouts")) && existsSync(join(candidate, "flagger")))
      return [candidate, ...PACKAGE_ONLY_CRDS.map((file) => join(bundledCrdDir(), file))];
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return [bundledCrdDir()];
}

function yamlFilesIn(path: string): string[] {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new KubeSimError("CRD_LOAD_FAILED", `cannot read CRD source ${path}: ${(error as Error).message}`, {
      cause: error,
      path,
    });
  }
  if (stat.isFile()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...yamlFilesIn(full));
    else if (/\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out;
}

/**
 * Parsed documents by path, valid while the file's size and mtime stay the same: a later start skips reading and
 * hashing the ~3 MB of upstream CRDs (that read and SHA-256 was most of a warm start with the built-in controllers).
 */
const parsedByStat = new Map<string, { size: number; mtimeMs: number; docs: KubeObject[] }>();

function parseCrdFile(path: string): KubeObject[] {
  const stat = statSync(path);
  const known = parsedByStat.get(path);
  if (known && known.size === stat.size && known.mtimeMs === stat.mtimeMs) return known.docs;
  const docs = parseCrdFileByContent(path);
  parsedByStat.set(path, { size: stat.size, mtimeMs: stat.mtimeMs, docs });
  return docs;
}

function parseCrdFileByContent(path: string): KubeObject[] {
  const text = readFileSync(path);
  const hash = createHash("sha256").update(text).digest("hex");
  const cached = parsedByHash.get(hash);
  if (cached) return cached;
  const diskPath = join(cacheDir, `${hash}.json`);
  if (existsSync(diskPath)) {
    try {
      const docs = JSON.parse(readFileSync(diskPath, "utf8")) as KubeObject[];
      parsedByHash.set(hash, docs);
      return docs;
    } catch {
      // A torn or foreign cache file: fall through and parse the YAML, which rewrites it.
    }
  }
  // js-yaml, not `yaml`: the Flagger CRD has multi-line single-quoted scalars whose continuation lines sit at
  // the key's indentation, which Go's YAML parser (and js-yaml) accept and `yaml` 2.x misreads as new keys.
  let parsed: unknown[];
  try {
    parsed = jsYaml.loadAll(text.toString("utf8"), undefined, { filename: path });
  } catch (error) {
    const mark = (error as { mark?: { line: number; column: number } }).mark;
    const where = mark ? `${path}:${mark.line + 1}:${mark.column + 1}` : path;
    throw new KubeSimError(
      "CRD_LOAD_FAILED",
      `${where}: invalid YAML: ${(error as { reason?: string }).reason ?? (error as Error).message}`,
      {
        cause: error,
        path,
      },
    );
  }
  const docs: KubeObject[] = [];
  for (const [index, value] of parsed.entries()) {
    if (value === null || value === undefined) continue;
    const kind = (value as { kind?: unknown }).kind;
    if (kind !== "CustomResourceDefinition") {
      throw new KubeSimError(
        "CRD_LOAD_FAILED",
        `${path}: document ${index + 1} is a ${String(kind)}, expected a CustomResourceDefinition`,
        { path },
      );
    }
    docs.push(value as KubeObject);
  }
  parsedByHash.set(hash, docs);
  try {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${diskPath}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(docs));
    renameSync(tmp, diskPath);
  } catch {
    // The disk cache only saves start-up time; a read-only temp dir must not stop the simulator.
  }
  return docs;
}

/** Reads every CRD in the given files or folders (folders are searched for *.yaml / *.yml). */
export function loadCrds(sources: string[]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const source of sources) for (const file of yamlFilesIn(source)) out.push(...parseCrdFile(file));
  return out;
}

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
  subresources?: {
    status?: object;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: PrinterColumn[];
}

interface CrdSpec {
  group: string;
  scope: "Namespaced" | "Cluster";
  names: { plural: string; singular?: string; kind: string; shortNames?: string[]; categories?: string[] };
  versions: CrdVersion[];
}

/** The resource type a CRD declares. Versions keep the CRD's order, with the storage version first. */
export function crdToType(crd: KubeObject): ResourceType {
  const spec = crd.spec as CrdSpec;
  const served = spec.versions.filter((v) => v.served !== false);
  served.sort((a, b) => Number(b.storage === true) - Number(a.storage === true));
  const first = served[0];
  const schemas = new Map<string, Record<string, unknown>>();
  const printerColumns = new Map<string, PrinterColumn[]>();
  for (const v of served) {
    if (v.schema?.openAPIV3Schema) schemas.set(v.name, v.schema.openAPIV3Schema);
    if (v.additionalPrinterColumns) printerColumns.set(v.name, v.additionalPrinterColumns);
  }
  return {
    group: spec.group,
    versions: served.map((v) => v.name),
    resource: spec.names.plural,
    kind: spec.names.kind,
    singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
    namespaced: spec.scope === "Namespaced",
    shortNames: spec.names.shortNames ?? [],
    categories: spec.names.categories ?? [],
    status: first?.subresources?.status !== undefined,
    scale: first?.subresources?.scale,
    generation: true,
    schemas,
    printerColumns,
    custom: true,
  };
}
