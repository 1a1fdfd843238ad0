/**
 * Model-based tests of the release lifecycle (issue #13): fast-check draws sequences of deploys (auto, manual then
 * promote or abort, sent to the engine running it or to another), rollbacks, timeouts, a preview that never gets
 * ready, writes refused with 403, 422, 500 or 503 (once, or until the fault is lifted), open watches ended by a 410,
 * an engine killed (`kill -9`) and recovered by another, a server replica restarted (same host and pid, a new
 * engine resumes the release; a decision sent while the dead replica's Lease still lives is NOT_RUNNING and taken
 * back, finding 3), and two replicas at once (decisions sent to either), and runs them against the real
 * engine on kube-sim. One kube-sim serves the whole file on one manual clock; each sequence gets a demo world
 * (`@rollway/release/demo`, frontend and backend-1) in a namespace of its own. After every step the invariants hold:
 *   I1 every component serves only images of a release that was promoted, or of the starting state;
 *   I2 no active Service selects a ReplicaSet without ready pods;
 *   I3 once its decisions are made, every release is in a terminal state (never left `aborting`);
 *   I4 users are served exactly what the model says (after an abort or rollback: one release's images, no mix);
 *   I5 the history is true: each changed component's `from` is what was served when the release began.
 * A failure prints fast-check's seed and path; replay with MODEL_SEED=<seed> MODEL_PATH=<path>. MODEL_RUNS sets the
 * number of sequences, MODEL_TIME_LIMIT_MS a time budget instead (`pnpm --filter @rollway/release model:long` runs as
 * many longer sequences as start within 25 minutes).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReleaseEngine } from "./engine.js";
import { ReleaseError } from "./errors.js";
import type { ReleaseEvent } from "./events.js";
import { TERMINAL_STATES } from "./records.js";
import {
  autoPayload,
  eventLog,
  kubeSimResource,
  type Obj,
  OLD,
  type ReleaseSim,
  releaseSimResource,
  type SimCluster,
} from "./test-helpers/release-sim.js";

const COMPONENTS = ["frontend", "backend-1"] as const;
type Served = Record<(typeof COMPONENTS)[number], string>;
type Decision = "promote" | "abort";

interface Model {
  served: Served;
  /** Promoted releases still serving or undone by nothing yet, oldest first, with what they replaced. */
  promoted: { id: string; before: Served }[];
  /** Every image a promoted release brought, plus the starting ones. */
  approved: Set<string>;
  /** Release id → what was served when it began. */
  before: Map<string, Served>;
}

interface Real {
  k: ReleaseSim;
}

const frontendImage = (tag: string) => `my-registry/image-for-frontend:${tag}`;
const codeOf = (e: unknown) => (e instanceof ReleaseError ? e.code : String(e));
const outcomeOf = (decision: Decision) => (decision === "promote" ? "promoted" : "ABORTED");

/**
 * What users are served, read as they reach it: each Rollout's active Service selects a ReplicaSet (by pod-template
 * hash); its template's image is served, and it must have ready pods (I2). Three lists over HTTP.
 */
async function observe(k: ReleaseSim): Promise<{ served: Served; unready: string[] }> {
  const [rollouts, services, replicaSets] = await Promise.all([
    k.get(k.paths.rollouts),
    k.get(k.paths.services),
    k.get(k.paths.replicaSets),
  ]);
  const served = {} as Served;
  const unready: string[] = [];
  for (const c of COMPONENTS) {
    const ro = rollouts.items.find((x: Obj) => x.metadata.name === c);
    const svc = services.items.find((x: Obj) => x.metadata.name === ro?.spec.strategy.blueGreen.activeService);
    const hash = svc?.spec.selector?.["rollouts-pod-template-hash"];
    const rs = replicaSets.items.find(
      (x: Obj) =>
        x.metadata.labels?.["rollouts-pod-template-hash"] === hash && x.metadata.ownerReferences?.[0]?.name === c,
    );
    served[c] = rs?.spec.template.spec.containers[0].image;
    if (!((rs?.status?.readyReplicas ?? 0) > 0)) unready.push(`${c} (selects ${hash ?? "nothing"})`);
  }
  return { served, unready };
}

/** What a promoted release changed: its plan's `to` images of the components the model follows. */
function promotedTo(record: { plan: { components: { name: string; changed: boolean; image: { to: string } }[] } }) {
  const to: Partial<Served> = {};
  for (const c of record.plan.components)
    if (c.changed && (COMPONENTS as readonly string[]).includes(c.name)) to[c.name as keyof Served] = c.image.to;
  return to;
}

/** The model after a release promoted that began on `before`. */
function promote(m: Model, record: Parameters<typeof promotedTo>[0] & { id: string }, before: Served): void {
  m.served = { ...m.served, ...promotedTo(record) };
  m.promoted.push({ id: record.id, before });
  for (const image of Object.values(promotedTo(record))) m.approved.add(image);
}

async function checkInvariants(m: Model, r: Real): Promise<void> {
  const { k } = r;
  const { served, unready } = await observe(k);
  for (const c of COMPONENTS) expect(m.approved, `I1: ${c} serves ${served[c]}`).toContain(served[c]);
  // I2: the ReplicaSet each active Service selects has ready pods.
  expect(unready, "I2: active Services selecting a ReplicaSet without ready pods").toEqual([]);
  const history = await k.engine.history("demo", k.ns);
  for (const record of history) {
    expect(TERMINAL_STATES, `I3: ${record.id} is ${record.state}`).toContain(record.state);
    const before = m.before.get(record.id);
    if (!before) continue;
    for (const c of record.plan.components) {
      if (!c.changed || !(COMPONENTS as readonly string[]).includes(c.name)) continue;
      expect(c.image.from, `I5: ${record.id} ${c.name}'s from`).toBe(before[c.name as keyof Served]);
    }
  }
  expect(served, "I4: users are served what the model says").toEqual(m.served);
}

/** Sends a decision as `rollway promote|abort <id>` does, to whichever engine (any process can decide). */
const decide = (engine: ReleaseEngine, release: string, decision: Decision, namespace: string) =>
  decision === "promote"
    ? engine.promote(release, { by: "model", namespace })
    : engine.abort(release, { by: "model", namespace });

/** Starts a release on `engine`; `before` is recorded for I5 when it starts. */
async function start(
  m: Model,
  r: Real,
  engine: ReleaseEngine,
  tag: string,
  how: { mode: "auto" | "manual"; timeoutSeconds?: number; waitForLock?: boolean; before?: () => Served },
) {
  const log = eventLog();
  const plan = await engine.plan(autoPayload(tag), r.k.environment);
  const p = how.mode === "manual" ? { ...plan, promotion: { ...plan.promotion, mode: "manual" as const } } : plan;
  const before = how.before ?? (() => ({ ...m.served }));
  const running = engine.apply(p, {
    onEvent: (e) => {
      if (e.type === "started") m.before.set(e.release, before());
      log.onEvent(e);
    },
    ...(how.timeoutSeconds ? { timeoutSeconds: how.timeoutSeconds } : {}),
    ...(how.waitForLock ? { waitForLock: true } : {}),
  });
  /** How the release ended, for assertion messages. */
  const ended = () =>
    running.then(
      (record) => `it ended ${record.state}`,
      (error) => `it ended ${codeOf(error)}: ${(error as Error).message}`,
    );
  // Settles when the release ends (or never waited): the event, else undefined.
  const reached = (type: ReleaseEvent["type"]) =>
    Promise.race([
      log.next(type),
      running.then(
        () => undefined,
        () => undefined,
      ),
    ]);
  return { running, reached, ended, log };
}

/** Runs one release to its end; returns its record id and outcome. */
async function deploy(
  m: Model,
  r: Real,
  tag: string,
  how: {
    mode: "auto" | "manual";
    decision?: Decision | "none";
    /** Who gets the decision: the engine running the release, or another process. */
    via?: "running" | "other";
    /** The API server ends every open watch with a 410 just before the decision. */
    expireWatches?: boolean;
    timeoutSeconds?: number;
  },
): Promise<{ id: string | undefined; outcome: string }> {
  const { k } = r;
  const before = { ...m.served };
  const { running, reached } = await start(m, r, k.engine, tag, { ...how, before: () => before });
  if (how.mode === "manual" && how.decision !== "none" && how.decision !== undefined) {
    const waiting = await reached("waiting-for-approval");
    if (waiting) {
      if (how.expireWatches) k.sim.faults.expireOpenWatches();
      const engine = how.via === "running" ? k.engine : await k.otherEngine();
      await decide(engine, waiting.release, how.decision, k.ns);
    }
  }
  try {
    const record = await running;
    promote(m, record, before);
    return { id: record.id, outcome: "promoted" };
  } catch (error) {
    return { id: (error as ReleaseError).release, outcome: codeOf(error) };
  }
}

class DeployAuto implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tag: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    expect((await deploy(m, r, this.tag, { mode: "auto" })).outcome).toBe("promoted");
    await checkInvariants(m, r);
  }
  toString = () => `deployAuto(${this.tag})`;
}

class DeployManual implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly tag: string,
    readonly decision: Decision,
    readonly via: "running" | "other",
    readonly expireWatches: boolean,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const { decision, via, expireWatches } = this;
    const { outcome } = await deploy(m, r, this.tag, { mode: "manual", decision, via, expireWatches });
    expect(outcome).toBe(outcomeOf(decision));
    await checkInvariants(m, r);
  }
  toString = () => `deployManual(${this.tag}, ${this.decision}, via ${this.via}${this.expireWatches ? ", 410" : ""})`;
}

class DeployTimesOut implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tag: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const { id, outcome } = await deploy(m, r, this.tag, { mode: "manual", decision: "none", timeoutSeconds: 12 });
    expect(outcome).toBe("TIMEOUT");
    const record = await r.k.engine.get(id as string, r.k.ns);
    expect(record.message).toMatch(/^timed out/);
    await checkInvariants(m, r);
  }
  toString = () => `deployTimesOut(${this.tag})`;
}

class DeployNeverReady implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tag: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    // A tag of its own: an image that never gets ready must differ from what is served (else the release is a no-op).
    const broken = `${this.tag}-never-ready`;
    const fault = r.k.sim.faults.neverReady({ image: frontendImage(broken), namespace: r.k.ns });
    try {
      expect((await deploy(m, r, broken, { mode: "auto" })).outcome).toBe("FAILED");
    } finally {
      fault.clear();
    }
    await checkInvariants(m, r);
  }
  toString = () => `deployNeverReady(${this.tag})`;
}

type WriteFault = { code: 403 | 422 | 500 | 503; verb: "update" | "patch"; persistent: boolean };
/** The code a refusal of each status carries to the caller (rollout-client's one mapping). */
const CLUSTER_CODE = { 403: "FORBIDDEN", 422: "INVALID", 500: "UNAVAILABLE", 503: "UNAVAILABLE" } as const;

class DeployWriteRefused implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly tag: string,
    readonly fault: WriteFault,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    // backend-1's writes are refused (RBAC's 403, a webhook's 422, 500 or 503), once or until the fault is lifted:
    // the release absorbs it or goes back whole; an abort that cannot finish ends `failed` naming what is left and
    // the command that finishes it, which does once the fault is gone. Never a mix, never `aborting` for good.
    const { code, verb, persistent } = this.fault;
    const match = { verb, resource: "rollouts", name: "backend-1", namespace: r.k.ns };
    const fault =
      code === 403 && persistent
        ? r.k.sim.faults.deny(match)
        : r.k.sim.faults.failRequests({ ...match, code, ...(persistent ? {} : { times: 1 }) });
    let result: { id: string | undefined; outcome: string };
    try {
      result = await deploy(m, r, `${this.tag}-refused`, { mode: "auto" });
    } finally {
      fault.clear();
    }
    if (result.outcome !== "promoted") {
      const record = await r.k.engine.get(result.id as string, r.k.ns);
      // Rolled back whole: the cluster's own code at the top (finding 12); something left: FAILED, naming it.
      expect(result.outcome).toBe(record.leftover?.length ? "FAILED" : CLUSTER_CODE[code]);
      expect(TERMINAL_STATES).toContain(record.state);
      if (record.leftover?.length) {
        expect(record.message).toContain(`rollway rollback ${record.id}`);
        const finish = await r.k.engine.rollback(record.id, { namespace: r.k.ns });
        expect(finish.state).toBe("promoted");
      }
    }
    await checkInvariants(m, r);
  }
  toString = () =>
    `deployWriteRefused(${this.tag}, ${this.fault.code} on ${this.fault.verb}${this.fault.persistent ? " until lifted" : " once"})`;
}

class EngineCrashesThenRecovered implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tag: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    // A manual release whose engine dies (its connections cut, its Lease never let go) while it waits for approval;
    // another engine, with another identity, waits for the Lease to expire on the clock and rolls the release back.
    const { engine, crash } = await r.k.proxiedEngine();
    const { reached, ended } = await start(m, r, engine, `${this.tag}-crashed`, { mode: "manual" });
    const waiting = await reached("waiting-for-approval");
    await crash();
    expect(waiting, `the crashed engine's release waited for approval (${waiting ? "" : await ended()})`).toBeDefined();
    const other = await r.k.otherEngine();
    expect(other.identity).not.toBe(engine.identity);
    const recovered = await other.recover("demo", { namespace: r.k.ns, wait: true, policy: "rollback" });
    const id = (waiting as ReleaseEvent).release;
    expect(recovered.find((x) => x.id === id)?.state, `the crashed release ${id} once recovered`).toBe("aborted");
    await checkInvariants(m, r);
  }
  toString = () => `engineCrashesThenRecovered(${this.tag})`;
}

class ReplicaRestarts implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly tag: string,
    readonly decision: Decision,
    /** The decision is first sent right after the old replica died, while its Lease still lives (finding 3). */
    readonly decidedWhileDead = false,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    // A server replica runs a manual release and is restarted while it waits: the old process is gone (its Lease
    // not let go), the new one has the server's identity style (same host and pid, a new start) and resumes the
    // release once the Lease expires; the decision then goes to the new replica.
    const before = { ...m.served };
    const { engine: old, crash } = await r.k.proxiedEngine();
    const { reached, ended } = await start(m, r, old, `${this.tag}-restarted`, {
      mode: "manual",
      before: () => before,
    });
    const waiting = await reached("waiting-for-approval");
    expect(waiting, `the replica's release waited for approval (${waiting ? "" : await ended()})`).toBeDefined();
    const id = (waiting as ReleaseEvent).release;
    await crash();
    if (this.decidedWhileDead) {
      // Nobody acknowledges it before the Lease runs out: refused, and taken back off the record, so the replica
      // that resumes the release does not act on a decision whose sender was told it failed.
      const early = await decide(r.k.engine, id, this.decision, r.k.ns).then(() => "ok", codeOf);
      expect(early, "a decision on a release whose engine just died").toBe("NOT_RUNNING");
      const untouched = await r.k.engine.get(id, r.k.ns);
      expect(untouched.approvals).toEqual([]);
      expect(untouched.abortRequested).toBeUndefined();
    }
    const replica = await r.k.otherEngine();
    expect(replica.identity.split(" ")[0]?.split("-").slice(0, -1)).toEqual(
      old.identity.split(" ")[0]?.split("-").slice(0, -1),
    );
    expect(replica.identity).not.toBe(old.identity);
    const log = eventLog();
    const recovering = replica.recover("demo", {
      namespace: r.k.ns,
      wait: true,
      policy: "resume",
      onEvent: log.onEvent,
    });
    const resumedWaiting = await Promise.race([
      log.next("waiting-for-approval"),
      recovering.then(
        () => undefined,
        () => undefined,
      ),
    ]);
    expect(resumedWaiting?.release, "the new replica resumed the release and waits for its approval").toBe(id);
    await decide(replica, id, this.decision, r.k.ns);
    const record = (await recovering).find((x) => x.id === id);
    expect(record?.state).toBe(this.decision === "promote" ? "promoted" : "aborted");
    if (record?.state === "promoted") promote(m, record, before);
    await checkInvariants(m, r);
  }
  toString = () =>
    `replicaRestarts(${this.tag}, ${this.decision}${this.decidedWhileDead ? ", decided while dead" : ""})`;
}

class TwoReplicas implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly first: string,
    readonly second: string,
    readonly decision: Decision,
    readonly via: "a" | "b",
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    // Two replicas at once: A runs a manual release; B is sent another (auto) release, which queues behind A's
    // Lease; the decision on A's release goes to A or B. A's release ends as decided, then B's runs from what
    // A's left serving.
    const a = r.k.engine;
    const b = await r.k.otherEngine();
    expect(b.identity).not.toBe(a.identity);
    const beforeFirst = { ...m.served };
    const first = await start(m, r, a, `${this.first}-a`, { mode: "manual", before: () => beforeFirst });
    const waiting = await first.reached("waiting-for-approval");
    expect(waiting, `replica A's release waited for approval (${waiting ? "" : await first.ended()})`).toBeDefined();
    let afterFirst: Served | undefined;
    const second = await start(m, r, b, `${this.second}-b`, {
      mode: "auto",
      waitForLock: true,
      before: () => afterFirst ?? { ...m.served },
    });
    const queued = await second.reached("waiting-for-lock");
    expect(queued, `replica B's release queued behind A's (${queued ? "" : await second.ended()})`).toBeDefined();
    await decide(this.via === "a" ? a : b, (waiting as ReleaseEvent).release, this.decision, r.k.ns);
    const outcome = await first.running.then(
      (record) => {
        promote(m, record, beforeFirst);
        return "promoted";
      },
      (error) => codeOf(error),
    );
    afterFirst = { ...m.served };
    expect(outcome).toBe(outcomeOf(this.decision));
    const record = await second.running;
    // B's release began once A's Lease was let go: its `from` is what A's release left serving.
    m.before.set(record.id, afterFirst);
    promote(m, record, afterFirst);
    await checkInvariants(m, r);
  }
  toString = () => `twoReplicas(${this.first}, ${this.second}, ${this.decision} via ${this.via})`;
}

class RollbackNewest implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => m.promoted.length > 0;
  async run(m: Model, r: Real) {
    const newest = m.promoted.at(-1) as { id: string; before: Served };
    const before = { ...m.served };
    const record = await r.k.engine.rollback(newest.id, {
      namespace: r.k.ns,
      onEvent: (e) => {
        if (e.type === "started") m.before.set(e.release, before);
      },
    });
    expect(record.state).toBe("promoted");
    m.promoted.pop();
    m.served = { ...newest.before };
    m.promoted.push({ id: record.id, before });
    await checkInvariants(m, r);
  }
  toString = () => "rollbackNewest";
}

const tag = fc.constantFrom("a", "b", "c");
const decision = fc.constantFrom<Decision>("promote", "abort");
const commands = [
  tag.map((t) => new DeployAuto(t)),
  fc
    .tuple(tag, decision, fc.constantFrom("running" as const, "other" as const), fc.boolean())
    .map(([t, d, via, expire]) => new DeployManual(t, d, via, expire)),
  tag.map((t) => new DeployTimesOut(t)),
  tag.map((t) => new DeployNeverReady(t)),
  fc
    .tuple(
      tag,
      fc.record({
        code: fc.constantFrom(403 as const, 422 as const, 500 as const, 503 as const),
        verb: fc.constantFrom("update" as const, "patch" as const),
        persistent: fc.boolean(),
      }),
    )
    .map(([t, f]) => new DeployWriteRefused(t, f)),
  fc.constant(new RollbackNewest()),
  tag.map((t) => new EngineCrashesThenRecovered(t)),
  fc.tuple(tag, decision, fc.boolean()).map(([t, d, early]) => new ReplicaRestarts(t, d, early)),
  fc
    .tuple(tag, tag, decision, fc.constantFrom("a" as const, "b" as const))
    .map(([x, y, d, via]) => new TwoReplicas(x, y, d, via)),
];

const runs = Number(process.env.MODEL_RUNS ?? 300);
const maxCommands = Number(process.env.MODEL_MAX_COMMANDS ?? 3);
const seed = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
const path = process.env.MODEL_PATH;
/**
 * A sequence that has not finished after this much real time fails (with its seed and path, so it replays) instead of
 * hanging the run: a release left waiting forever on the fast clock is a finding, not a timeout of the whole file.
 */
const sequenceTimeoutMs = Number(process.env.MODEL_SEQUENCE_TIMEOUT_MS ?? 120_000);
/**
 * MODEL_TIME_LIMIT_MS: a long run by time, not by count. No sequence starts after this much time; the one under way
 * finishes, and the run passes with the sequences it got through (their number is printed with the seed). Without it,
 * the test's 30-minute timeout ended a long run with no word of what had run. At most 27 minutes, so that the last
 * sequence (up to its own MODEL_SEQUENCE_TIMEOUT_MS) ends before that timeout.
 */
const timeLimitMs = (() => {
  const given = process.env.MODEL_TIME_LIMIT_MS;
  if (given === undefined) return undefined;
  const ms = Number(given);
  if (!Number.isFinite(ms) || ms <= 0)
    throw new Error(`MODEL_TIME_LIMIT_MS must be a number of milliseconds above 0 (got ${JSON.stringify(given)})`);
  return Math.min(ms, 1_800_000 - sequenceTimeoutMs - 60_000);
})();
const budget = timeLimitMs === undefined ? "" : ` (or those that start within ${timeLimitMs / 1000} s)`;

describe("the release lifecycle, model-based", () => {
  let cluster: SimCluster;
  beforeAll(async () => {
    // 1 s of clock per step: the Lease (30 s, renewed every 10 s) keeps 20 steps of margin for a renewal in flight.
    cluster = await kubeSimResource({ fastClock: true, stepMs: 1000, dispose: "manual" });
  });
  afterAll(() => cluster?.close());

  it(`keeps I1–I5 after every step of ${runs} random sequences${budget} (seed and path printed on failure; MODEL_SEED/MODEL_PATH replay)`, async () => {
    let worlds = 0;
    const begun = performance.now();
    let notStarted = 0;
    const details = await fc.check(
      fc.asyncProperty(fc.commands(commands, { maxCommands }), async (cmds) => {
        const started = performance.now();
        // Out of time: the rest pass without running (fast-check's own skipping would count them as too many skips).
        if (timeLimitMs !== undefined && started - begun > timeLimitMs) {
          notStarted++;
          return;
        }
        // A world of its own for each sequence: a namespace in the file's one kube-sim.
        const k = await releaseSimResource({
          on: cluster,
          namespace: `model-${++worlds}`,
          backends: ["backend-1"],
          platform: false,
          readyTimeoutSeconds: 120,
          dispose: "manual",
        });
        try {
          const m: Model = {
            served: { frontend: OLD.frontend, "backend-1": OLD["backend-1"] },
            promoted: [],
            approved: new Set([OLD.frontend, OLD["backend-1"]]),
            before: new Map(),
          };
          await checkInvariants(m, { k });
          let watchdog: NodeJS.Timeout | undefined;
          let current = "";
          const traced = [...cmds].map((c) => ({
            check: (model: Model) => c.check(model),
            run: (model: Model, real: Real) => {
              current = c.toString();
              return c.run(model, real);
            },
            toString: () => c.toString(),
          }));
          await Promise.race([
            fc.asyncModelRun(() => ({ model: m, real: { k } }), traced),
            new Promise<never>((_, reject) => {
              watchdog = setTimeout(() => {
                // What the cluster holds then, for the report: every release's state and the Lease's holder.
                void Promise.all([
                  k.engine.history("demo", k.ns).catch(() => []),
                  k.api.objects
                    .list<{ metadata: { name: string; annotations?: Record<string, string> }; spec: object }>({
                      apiVersion: "coordination.k8s.io/v1",
                      kind: "Lease",
                      namespace: k.ns,
                    })
                    .catch(() => ({ items: [] })),
                ]).then(([records, leases]) =>
                  reject(
                    new Error(
                      `the sequence did not finish within ${sequenceTimeoutMs} ms, in ${current}: ${[...cmds].join(", ")}; releases: ${JSON.stringify(records.map((x) => ({ id: x.id, state: x.state, message: x.message, approvals: x.approvals, abortRequested: x.abortRequested })))}; leases: ${JSON.stringify(leases.items.map((l) => ({ name: l.metadata.name, annotations: l.metadata.annotations, spec: l.spec })))}`,
                    ),
                  ),
                );
              }, sequenceTimeoutMs);
            }),
          ]).finally(() => clearTimeout(watchdog));
        } finally {
          await k.close();
          if (process.env.MODEL_TIMING)
            console.log(
              `${k.ns}: ${[...cmds].join(", ")}: ${Math.round(performance.now() - started)} ms, timers ${cluster.clock?.pendingTimers()}`,
            );
        }
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }), ...(path ? { path } : {}), endOnFailure: true },
    );
    const seconds = Math.round((performance.now() - begun) / 1000);
    console.log(
      `model: ${details.numRuns - notStarted} sequences of at most ${maxCommands} steps in ${seconds} s, seed ${details.seed}${notStarted > 0 ? ` (${notStarted} not started: MODEL_TIME_LIMIT_MS)` : ""}`,
    );
    if (details.failed) {
      const replay = `MODEL_SEED=${details.seed} MODEL_PATH="${details.counterexamplePath}" pnpm --filter @rollway/release exec vitest run src/model.test.ts`;
      throw new Error(`${fc.defaultReportMessage(details)}\nReplay the failing sequence alone: ${replay}`, {
        cause: details.errorInstance,
      });
    }
    expect(details.numRuns - notStarted).toBeGreaterThan(0);
  }, 1_800_000);
});
