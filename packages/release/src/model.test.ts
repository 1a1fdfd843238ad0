/**
 * Model-based tests of the release lifecycle (issue #13): fast-check draws sequences of deploys (auto, manual then
 * promote or abort), rollbacks, timeouts, a preview that never gets ready, transient 500s and an RBAC denial, and
 * runs them against the real engine on kube-sim (one fresh world per sequence, every clock on kube-sim's manual
 * clock). After every step the invariants are checked:
 *   I1 every component serves only images of a release that was promoted, or of the starting state;
 *   I2 no active Service selects a ReplicaSet without ready pods;
 *   I3 once its decisions are made, every release is in a terminal state (never left `aborting`);
 *   I4 users are served exactly what the model says (after an abort or rollback: one release's images, no mix);
 *   I5 the history is true: each changed component's `from` is what was served when the release began.
 * A failure prints fast-check's seed and path; replay with MODEL_SEED=<seed> MODEL_PATH=<path>. MODEL_RUNS sets the
 * number of sequences (scripts/model-long.sh runs many more).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReleaseError } from "./errors.js";
import { TERMINAL_STATES } from "./records.js";
import {
  autoPayload,
  eventLog,
  NS,
  OLD,
  type ReleaseSim,
  releaseSimResource,
  replicaSetsPath,
  rolloutsPath,
} from "./test-helpers/release-sim.js";

const COMPONENTS = ["frontend", "backend-1"] as const;
type Served = Record<(typeof COMPONENTS)[number], string>;

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

async function servedNow(k: ReleaseSim): Promise<Served> {
  const out = {} as Served;
  for (const c of COMPONENTS) out[c] = (await k.serving(c)).image;
  return out;
}

/** What a promoted release changed: its plan's `to` images of the components the model follows. */
function promotedTo(record: { plan: { components: { name: string; changed: boolean; image: { to: string } }[] } }) {
  const to: Partial<Served> = {};
  for (const c of record.plan.components)
    if (c.changed && (COMPONENTS as readonly string[]).includes(c.name)) to[c.name as keyof Served] = c.image.to;
  return to;
}

async function checkInvariants(m: Model, r: Real): Promise<void> {
  const { k } = r;
  const served = await servedNow(k);
  for (const c of COMPONENTS) expect(m.approved, `I1: ${c} serves ${served[c]}`).toContain(served[c]);
  // I2: the ReplicaSet each active Service selects has ready pods.
  const replicaSets = (await k.get(replicaSetsPath)).items;
  for (const c of COMPONENTS) {
    const ro = await k.get(`${rolloutsPath}/${c}`);
    const hash = ro.status?.blueGreen?.activeSelector;
    const rs = replicaSets.find(
      (x: { metadata: { labels?: Record<string, string> } }) =>
        x.metadata.labels?.["rollouts-pod-template-hash"] === hash,
    );
    expect(rs?.status?.readyReplicas ?? 0, `I2: ${c}'s active ReplicaSet has ready pods`).toBeGreaterThan(0);
  }
  const history = await k.engine.history("demo", NS);
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

/** Runs one release to its end; returns its record id and outcome. */
async function deploy(
  m: Model,
  r: Real,
  tag: string,
  how: { mode: "auto" | "manual"; decision?: "promote" | "abort" | "none"; timeoutSeconds?: number },
): Promise<{ id: string | undefined; outcome: string }> {
  const { k } = r;
  const log = eventLog();
  const plan = await k.engine.plan(autoPayload(tag), k.environment);
  const p = how.mode === "manual" ? { ...plan, promotion: { ...plan.promotion, mode: "manual" as const } } : plan;
  const before = { ...m.served };
  const running = k.engine.apply(p, {
    onEvent: (e) => {
      if (e.type === "started") m.before.set(e.release, before);
      log.onEvent(e);
    },
    ...(how.timeoutSeconds ? { timeoutSeconds: how.timeoutSeconds } : {}),
  });
  if (how.mode === "manual" && how.decision !== "none") {
    const waiting = await Promise.race([
      log.next("waiting-for-approval"),
      running.then(
        () => undefined,
        () => undefined,
      ),
    ]);
    if (waiting) {
      const other = await k.otherEngine();
      if (how.decision === "promote") await other.promote(waiting.release, { by: "model", namespace: NS });
      else await other.abort(waiting.release, { by: "model", namespace: NS });
    }
  }
  try {
    const record = await running;
    m.served = { ...m.served, ...promotedTo(record) };
    m.promoted.push({ id: record.id, before });
    for (const image of Object.values(promotedTo(record))) m.approved.add(image);
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
    readonly decision: "promote" | "abort",
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const { outcome } = await deploy(m, r, this.tag, { mode: "manual", decision: this.decision });
    expect(outcome).toBe(this.decision === "promote" ? "promoted" : "ABORTED");
    await checkInvariants(m, r);
  }
  toString = () => `deployManual(${this.tag}, ${this.decision})`;
}

class DeployTimesOut implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tag: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const { id, outcome } = await deploy(m, r, this.tag, { mode: "manual", decision: "none", timeoutSeconds: 40 });
    expect(outcome).toBe("TIMEOUT");
    const record = await r.k.engine.get(id as string, NS);
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
    const fault = r.k.sim.faults.neverReady({ image: frontendImage(broken), namespace: NS });
    try {
      expect((await deploy(m, r, broken, { mode: "auto" })).outcome).toBe("FAILED");
    } finally {
      fault.clear();
    }
    await checkInvariants(m, r);
  }
  toString = () => `deployNeverReady(${this.tag})`;
}

class DeployTransient500 implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tag: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    // One refused write: the release either absorbs it or goes back whole; never a mix.
    const fault = r.k.sim.faults.failRequests({
      verb: "patch",
      resource: "rollouts",
      name: "backend-1",
      code: 500,
      times: 1,
    });
    try {
      expect(["promoted", "FAILED"]).toContain((await deploy(m, r, this.tag, { mode: "auto" })).outcome);
    } finally {
      fault.clear();
    }
    await checkInvariants(m, r);
  }
  toString = () => `deployTransient500(${this.tag})`;
}

class DeployDeniedThenFinished implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tag: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const denied = r.k.sim.faults.deny({ verb: "patch", resource: "rollouts", name: "backend-1" });
    let result: { id: string | undefined; outcome: string };
    try {
      result = await deploy(m, r, `${this.tag}-denied`, { mode: "auto" });
    } finally {
      denied.clear();
    }
    if (result.outcome === "promoted") {
      await checkInvariants(m, r);
      return;
    }
    expect(result.outcome).toBe("FAILED");
    const record = await r.k.engine.get(result.id as string, NS);
    if (record.leftover?.length) {
      expect(record.message).toContain(`rollway rollback ${record.id}`);
      const finish = await r.k.engine.rollback(record.id, { namespace: NS });
      expect(finish.state).toBe("promoted");
    }
    await checkInvariants(m, r);
  }
  toString = () => `deployDeniedThenFinished(${this.tag})`;
}

class EngineCrashesThenRecovered implements fc.AsyncCommand<Model, Real> {
  constructor(readonly tag: string) {}
  check = () => true;
  async run(m: Model, r: Real) {
    // A manual release whose engine dies (its connections cut, its Lease never let go) while it waits for approval;
    // another engine, with another identity, waits for the Lease to expire on the clock and rolls the release back.
    const { engine, crash } = await r.k.crashableEngine();
    const log = eventLog();
    const plan = await engine.plan(autoPayload(`${this.tag}-crashed`), r.k.environment);
    const before = { ...m.served };
    const running = engine
      .apply(
        { ...plan, promotion: { ...plan.promotion, mode: "manual" as const } },
        {
          onEvent: (e) => {
            if (e.type === "started") m.before.set(e.release, before);
            log.onEvent(e);
          },
        },
      )
      .then(
        () => "finished",
        () => "gone",
      );
    const waiting = await Promise.race([log.next("waiting-for-approval"), running]);
    await crash();
    expect(typeof waiting, `the crashed engine's release ${String(waiting)} before it waited`).toBe("object");
    const other = await r.k.otherEngine();
    expect(other.identity).not.toBe(engine.identity);
    const recovered = await other.recover("demo", { namespace: NS, wait: true, policy: "rollback" });
    const id = (waiting as { release: string }).release;
    expect(recovered.find((x) => x.id === id)?.state, `the crashed release ${id} once recovered`).toBe("aborted");
    await checkInvariants(m, r);
  }
  toString = () => `engineCrashesThenRecovered(${this.tag})`;
}

class RollbackNewest implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => m.promoted.length > 0;
  async run(m: Model, r: Real) {
    const newest = m.promoted.at(-1) as { id: string; before: Served };
    const before = { ...m.served };
    const log = eventLog();
    const record = await r.k.engine.rollback(newest.id, {
      namespace: NS,
      onEvent: (e) => {
        if (e.type === "started") m.before.set(e.release, before);
        log.onEvent(e);
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
const commands = [
  tag.map((t) => new DeployAuto(t)),
  fc.tuple(tag, fc.constantFrom("promote" as const, "abort" as const)).map(([t, d]) => new DeployManual(t, d)),
  tag.map((t) => new DeployTimesOut(t)),
  tag.map((t) => new DeployNeverReady(t)),
  tag.map((t) => new DeployTransient500(t)),
  tag.map((t) => new DeployDeniedThenFinished(t)),
  fc.constant(new RollbackNewest()),
  tag.map((t) => new EngineCrashesThenRecovered(t)),
];

const runs = Number(process.env.MODEL_RUNS ?? 12);
const seed = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
const path = process.env.MODEL_PATH;

describe("the release lifecycle, model-based", () => {
  it(`keeps I1–I5 after every step of ${runs} random sequences (seed and path printed on failure; MODEL_SEED/MODEL_PATH replay)`, async () => {
    const details = await fc.check(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 4 }), async (cmds) => {
        const started = performance.now();
        const k = await releaseSimResource({
          backends: ["backend-1"],
          fastClock: true,
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
          await fc.asyncModelRun(() => ({ model: m, real: { k } }), cmds);
        } finally {
          await k.close();
          if (process.env.MODEL_TIMING)
            console.log(`sequence of ${[...cmds].length} commands: ${Math.round(performance.now() - started)} ms`);
        }
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }), ...(path ? { path } : {}), endOnFailure: true },
    );
    if (details.failed) {
      const replay = `MODEL_SEED=${details.seed} MODEL_PATH="${details.counterexamplePath}" pnpm --filter @rollway/release exec vitest run src/model.test.ts`;
      throw new Error(`${fc.defaultReportMessage(details)}\nReplay the failing sequence alone: ${replay}`, {
        cause: details.errorInstance,
      });
    }
  }, 1_800_000);
});
