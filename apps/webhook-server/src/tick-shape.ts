/**
 * Keeps the hidden class (V8 map) of Node's `process.nextTick` objects alive for the life of the process, so that
 * `nextTick` keeps its fast path. Every dry run makes 3 to 4 ticks.
 *
 * Node builds each tick as an object literal whose first keys are computed (`{ [async_id_symbol]: asyncId,
 * [trigger_async_id_symbol]: triggerAsyncId, …, callback, args }`, lib/internal/process/task_queues.js). V8 defines
 * such keys one by one and remembers, per key, the one map it saw. Maps nobody uses are collected: a full GC while no
 * tick is queued and before `nextTick` is optimized (a server loading its cluster at start has one) takes the ticks'
 * maps, the next tick builds new ones, and V8 (Runtime_DefineKeyedOwnPropertyInLiteral) then marks those keys
 * megamorphic for good. Optimized `nextTick` then calls the runtime three times per tick: on Node 20 a dry run cost a
 * server with a cluster 48 µs of CPU against 43 µs for one without (BENCHMARKS.md, "Thirteenth session").
 *
 * The fix holds one object built exactly as a tick is (same keys, same order, same kinds of value), so that the ticks'
 * maps are never collected. It is built only when `nextTick`'s source holds Node 20's literal letter for letter
 * (whitespace aside), with Node's own symbols (an AsyncResource carries both). Node 24's tick has a third computed key,
 * a symbol private to Node's module (`kAsyncContextFrame`; the timers' and AsyncResource's are other symbols), so there
 * it cannot be built and this does nothing; its optimized nextTick kept the fast path in the same benchmark.
 */
import { AsyncResource } from "node:async_hooks";

/** Node 20's tick literal (task_queues.js), whitespace removed. */
const NODE_20_TICK = "{[async_id_symbol]:asyncId,[trigger_async_id_symbol]:triggerAsyncId,callback,args,}";

let kept: object | undefined;

/** Whether this Node's `nextTick` builds Node 20's tick literal (another literal, or none found: false). */
export function buildsNode20Tick(source = process.nextTick.toString()): boolean {
  return /const tickObject = (\{[^}]*\})/.exec(source)?.[1]?.replace(/\s+/g, "") === NODE_20_TICK;
}

function ownSymbol(object: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(object).find((symbol) => symbol.description === description);
}

/**
 * Builds and keeps the object (once per process; later calls return the same one). Returns it, or undefined where
 * this Node's tick is not Node 20's. Call it as early as possible: before the first full GC.
 */
export function keepTickObjectShape(): object | undefined {
  if (kept || !buildsNode20Tick()) return kept;
  const resource = new AsyncResource("rollway.tick-shape");
  const asyncId = ownSymbol(resource, "async_id_symbol");
  const triggerId = ownSymbol(resource, "trigger_async_id_symbol");
  if (!asyncId || !triggerId) return undefined;
  // A tick's ids come from a Float64Array (double fields); its callback is a function, its args undefined or an array.
  kept = { [asyncId]: 0.5, [triggerId]: 0.5, callback: () => {}, args: undefined };
  return kept;
}
