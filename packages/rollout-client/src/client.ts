/** The public face: `connect()` returns a client whose methods take a Target found by `target()`. */
import { type Connection, type ConnectOptions, openConnection } from "./connect.js";
import { abort, retry } from "./operations/abort.js";
import { canaryGate, type GateDecision, type GateType } from "./operations/flagger-gate.js";
import { history, type Revision } from "./operations/history.js";
import { pause, restart, resume } from "./operations/pause.js";
import { type OperationResult, type PromoteOptions, promote } from "./operations/promote.js";
import { type PodTemplateChange, setImages, setPodTemplate } from "./operations/set-images.js";
import { type UndoOptions, type UndoResult, undo } from "./operations/undo.js";
import type { WorkloadStatus } from "./status.js";
import { findTarget } from "./targets/find.js";
import type { Target } from "./targets/target.js";
import { readStatus, type WaitForOptions, type WatchOptions, waitFor, watchStatus } from "./watch.js";

export interface RolloutClient {
  /** The namespace targets are looked up in when none is given. */
  readonly namespace: string;
  /** The kubeconfig context in use. */
  readonly context: string;
  /**
   * The one cluster layer under every operation: `connection.objects` (get/list/create/replace/patch/delete of any
   * kind, subresources, `listWatch`) and `connection.request` (any API path), with the same TLS, auth, retries and
   * error class. Use it for everything else a caller needs from the cluster (ConfigMaps, Leases, Jobs).
   */
  readonly connection: Connection;
  /** Finds the Rollout, Flagger Canary or Deployment that runs a component. */
  target(component: string, namespace?: string): Promise<Target>;
  /** The current status, from one read of each object it needs. */
  status(target: Target): Promise<WorkloadStatus>;
  /** Status changes, from the current one on, until the signal aborts. */
  watch(target: Target, options?: WatchOptions): AsyncGenerator<WorkloadStatus>;
  waitFor(
    target: Target,
    predicate: (status: WorkloadStatus) => boolean,
    options?: WaitForOptions,
  ): Promise<WorkloadStatus>;
  /** Sets container images by container name (`*` for all) in one write. */
  setImages(target: Target, images: Record<string, string>): Promise<OperationResult>;
  setPodTemplate(target: Target, change: PodTemplateChange): Promise<OperationResult>;
  promote(target: Target, options?: PromoteOptions): Promise<OperationResult>;
  abort(target: Target): Promise<OperationResult>;
  retry(target: Target): Promise<OperationResult>;
  undo(target: Target, options?: UndoOptions): Promise<UndoResult>;
  pause(target: Target): Promise<OperationResult>;
  resume(target: Target): Promise<OperationResult>;
  /** Restarts every pod of the target, stamping the time from the client's clock. */
  restart(target: Target): Promise<OperationResult>;
  /** Opens or closes a Flagger Canary's gate at its flagger-loadtester. */
  gate(target: Target, gate: GateType, decision: GateDecision): Promise<OperationResult>;
  history(target: Target): Promise<Revision[]>;
  /** Closes the keep-alive connections. */
  close(): void;
}

export async function connect(options: ConnectOptions = {}): Promise<RolloutClient> {
  const conn: Connection = await openConnection(options);
  return {
    namespace: conn.namespace,
    context: conn.context,
    connection: conn,
    target: (component, namespace) => findTarget(conn, component, namespace),
    status: (target) => readStatus(conn, target),
    watch: (target, opts) => watchStatus(conn, target, opts),
    waitFor: (target, predicate, opts) => waitFor(conn, target, predicate, opts),
    setImages: (target, images) => setImages(conn, target, images),
    setPodTemplate: (target, change) => setPodTemplate(conn, target, change),
    promote: (target, opts) => promote(conn, target, opts),
    abort: (target) => abort(conn, target),
    retry: (target) => retry(conn, target),
    undo: (target, opts) => undo(conn, target, opts),
    pause: (target) => pause(conn, target),
    resume: (target) => resume(conn, target),
    restart: (target) => restart(conn, target),
    gate: (target, gate, decision) => canaryGate(conn, target, gate, decision),
    history: (target) => history(conn, target),
    close: () => conn.close(),
  };
}
