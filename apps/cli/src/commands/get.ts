/**
 * `rollway get <workload>`: one workload as a tree, as `kubectl argo rollouts get rollout` shows it: its revisions,
 * each revision's ReplicaSet with the `stable`/`active`/`preview`/`canary` markers, and each pod with its status,
 * restarts and reason. Read with the engine's API connection (ReplicaSets the workload owns, their pods).
 */
import type { Connection, WorkloadStatus } from "@rollway/rollout-client";
import { type ClusterOptions, openDirect } from "../direct.js";
import { loadEnvironment } from "../environment-file.js";
import { type Output, printDone } from "../output.js";
import { describeStatus, fitRow } from "../progress.js";
import { isInteractive } from "../style.js";
import { getReleaseCommand, RELEASE_ID } from "./get-release.js";

/** The Rollout's own status: which pod-template hash is stable, active, preview or the canary (as the plugin reads). */
interface RolloutObject {
  spec?: { strategy?: { blueGreen?: unknown; canary?: unknown } };
  status?: {
    stableRS?: string;
    currentPodHash?: string;
    blueGreen?: { activeSelector?: string; previewSelector?: string };
  };
}
const ROLLOUT_PATH = (ns: string, name: string) => `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/${name}`;
const REPLICA_SETS_PATH = (ns: string) => `/apis/apps/v1/namespaces/${ns}/replicasets`;
const PODS_PATH = (ns: string) => `/api/v1/namespaces/${ns}/pods`;

interface ReplicaSet {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { name: string }[];
  };
  spec: {
    selector?: { matchLabels?: Record<string, string> };
    template?: { spec?: { containers?: { image: string }[] } };
  };
  status?: { replicas?: number; readyReplicas?: number };
}
interface Pod {
  metadata: { name: string };
  status?: {
    phase?: string;
    containerStatuses?: {
      ready: boolean;
      restartCount: number;
      state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
    }[];
  };
}

export interface TreePod {
  name: string;
  status: string;
  ready: string;
  restarts: number;
}
export interface TreeRevision {
  revision: number;
  replicaSet: string;
  images: string[];
  markers: string[];
  ready: string;
  pods: TreePod[];
}
export interface WorkloadTree {
  status: WorkloadStatus;
  revisions: TreeRevision[];
}

const HASH_LABELS = ["rollouts-pod-template-hash", "pod-template-hash"];
const revisionOf = (rs: ReplicaSet) =>
  Number(
    rs.metadata.annotations?.["rollout.argoproj.io/revision"] ??
      rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ??
      0,
  );

export async function readTree(api: Connection, status: WorkloadStatus): Promise<WorkloadTree> {
  const ns = status.namespace;
  const sets = await api.request<{ items: ReplicaSet[] }>({
    method: "GET",
    path: REPLICA_SETS_PATH(ns),
    resource: { kind: `ReplicaSets of ${status.kind}`, name: status.name, namespace: ns },
  });
  const pods = await api.request<{ items: (Pod & { metadata: { labels?: Record<string, string> } })[] }>({
    method: "GET",
    path: PODS_PATH(ns),
    resource: { kind: `pods of ${status.kind}`, name: status.name, namespace: ns },
  });
  const owned = sets.items
    .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.name === status.name))
    .sort((a, b) => revisionOf(b) - revisionOf(a));
  const newest = owned[0];
  const rollout =
    status.kind === "Rollout"
      ? await api.request<RolloutObject>({
          method: "GET",
          path: ROLLOUT_PATH(ns, status.name),
          resource: { kind: "Rollout", name: status.name, namespace: ns },
        })
      : undefined;
  const revisions = owned.map((rs): TreeRevision => {
    const hash = HASH_LABELS.map((l) => rs.metadata.labels?.[l]).find(Boolean);
    const markers = rollout ? rolloutMarkers(rollout, hash) : [];
    if (!rollout) {
      const stable = status.kind === "Deployment" ? rs === newest && status.phase === "Healthy" : undefined;
      if (stable || (hash && status.stableImages && hash === status.endpoints.active?.podTemplateHash))
        markers.push("stable");
      if (hash && hash === status.endpoints.active?.podTemplateHash) markers.push("active");
      if (hash && hash === status.endpoints.preview?.podTemplateHash && !markers.includes("active"))
        markers.push(status.canary ? "canary" : "preview");
    }
    const selector = rs.spec.selector?.matchLabels ?? {};
    const mine = pods.items.filter((p) =>
      Object.entries(selector).every(([k, v]) => (p.metadata as { labels?: Record<string, string> }).labels?.[k] === v),
    );
    return {
      revision: revisionOf(rs),
      replicaSet: rs.metadata.name,
      images: (rs.spec.template?.spec?.containers ?? []).map((c) => c.image),
      markers,
      ready: `${rs.status?.readyReplicas ?? 0}/${rs.status?.replicas ?? 0}`,
      pods: mine.map((p) => {
        const cs = p.status?.containerStatuses ?? [];
        const waiting = cs.find((c) => !c.ready);
        return {
          name: p.metadata.name,
          status: waiting?.state?.waiting?.reason ?? waiting?.state?.terminated?.reason ?? p.status?.phase ?? "Unknown",
          ready: `${cs.filter((c) => c.ready).length}/${cs.length}`,
          restarts: cs.reduce((n, c) => n + c.restartCount, 0),
        };
      }),
    };
  });
  return { status, revisions };
}

/** A Rollout's markers for a ReplicaSet's hash, from the Rollout's status as the plugin reads them. */
function rolloutMarkers(rollout: RolloutObject, hash: string | undefined): string[] {
  if (!hash) return [];
  const s = rollout.status ?? {};
  const markers: string[] = [];
  if (hash === s.stableRS) markers.push("stable");
  if (rollout.spec?.strategy?.blueGreen) {
    if (hash === s.blueGreen?.activeSelector) markers.push("active");
    else if (hash === s.blueGreen?.previewSelector) markers.push("preview");
  } else if (hash === s.currentPodHash && hash !== s.stableRS) markers.push("canary");
  return markers;
}

/** The tree as text, one line per object, as the plugin draws it. */
export function renderTree(tree: WorkloadTree): string {
  const s = tree.status;
  const lines = [
    `Name:       ${s.name}`,
    `Namespace:  ${s.namespace}`,
    `Kind:       ${s.kind}`,
    `Status:     ${describeStatus(s)}`,
    "",
    `${s.kind}/${s.name}`,
  ];
  tree.revisions.forEach((r, i) => {
    const last = i === tree.revisions.length - 1;
    lines.push(`${last ? "└" : "├"}── revision:${r.revision}${r.markers.length ? `  ${r.markers.join(",")}` : ""}`);
    const pad = last ? "    " : "│   ";
    lines.push(`${pad}└── ReplicaSet ${r.replicaSet}  ready ${r.ready}  ${r.images.join(", ")}`);
    r.pods.forEach((p, j) => {
      const end = j === r.pods.length - 1;
      lines.push(`${pad}    ${end ? "└" : "├"}── Pod ${p.name}  ${p.status}  ready ${p.ready}  restarts ${p.restarts}`);
    });
  });
  return `${lines.join("\n")}\n`;
}

export async function getCommand(
  name: string,
  options: ClusterOptions & { watch?: boolean; env?: string },
  output: Output,
): Promise<void> {
  // A release id (`demo-20261127-112607-bef9`): the release's tree. Its records live in the environment's namespace.
  const release = RELEASE_ID.test(name);
  const namespace =
    options.namespace ??
    (release && (options.env ?? process.env.ROLLWAY_ENV) ? (await loadEnvironment(options.env)).namespace : undefined);
  const direct = await openDirect({ ...options, ...(namespace ? { namespace } : {}) });
  try {
    if (release) {
      await getReleaseCommand(direct, name, namespace ?? direct.client.namespace, output);
      return;
    }
    const target = await direct.client.target(name, options.namespace);
    if (!options.watch) {
      const tree = await readTree(direct.api, await direct.client.status(target));
      if (output.json) printDone(output, { ok: true, ...tree });
      else output.out(renderTree(tree));
      return;
    }
    // At a terminal the tree is redrawn in place, each row cut to the window's width and the tree to its height
    // (a wrapped or scrolled row could not be erased: copies would pile up); elsewhere it is printed again.
    const live = !output.json && isInteractive();
    let last = "";
    const draw = () => {
      const columns = process.stdout.columns || 80;
      const rows = process.stdout.rows || 24;
      let lines = last.trimEnd().split("\n");
      if (lines.length > rows - 1)
        lines = [...lines.slice(0, rows - 2), `… ${lines.length - (rows - 2)} more lines: a taller window shows them`];
      output.out(`\u001b[H\u001b[2J${lines.map((l) => fitRow(l, columns - 1, undefined, false)).join("\n")}\n`);
    };
    const show = async (status: WorkloadStatus) => {
      const tree = await readTree(direct.api, status);
      if (output.json) output.out(`${JSON.stringify({ type: "tree", ...tree })}\n`);
      else if (live) {
        last = renderTree(tree);
        draw();
      } else output.out(`\n${renderTree(tree)}`);
    };
    // Until Ctrl-C, as `kubectl argo rollouts get rollout -w`: the tree again on each change.
    const stop = new AbortController();
    const interrupt = () => stop.abort();
    process.once("SIGINT", interrupt);
    process.once("SIGTERM", interrupt);
    const resized = () => {
      if (last) draw();
    };
    if (live) process.stdout.on("resize", resized);
    try {
      for await (const status of direct.client.watch(target, { signal: stop.signal })) await show(status);
    } catch (error) {
      if (!stop.signal.aborted) throw error;
    } finally {
      process.off("SIGINT", interrupt);
      process.off("SIGTERM", interrupt);
      process.stdout.off("resize", resized);
    }
    if (output.json) printDone(output, { ok: true });
  } finally {
    direct.close();
  }
}
