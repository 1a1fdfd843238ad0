/**
 * The Node (V8) flags the server runs with, wherever it runs: the image's ENTRYPOINT carries them (a test checks the
 * Dockerfile against this list) and `rollway serve` runs itself again with them when started without. They take
 * effect only on Node's command line: NODE_OPTIONS refuses them and `v8.setFlagsFromString` after start comes too late
 * (the heap and its memory reducer are set up before any JavaScript runs).
 */
export const SERVER_NODE_FLAGS: readonly string[] = [
  // V8's memory reducer (the full GCs it runs when the isolate looks idle, 8 to 30 s after start and again later)
  // compacted the start-up heap in one 25 to 45 ms pause of the event loop, longer than the 20 ms a request may wait
  // (BENCHMARKS.md, bench/pattern-lag.ts). Ordinary GCs still run; what is given up is the reducer returning ~7 MB of
  // idle heap.
  "--no-memory-reducer",
  // Node 24's V8 sizes the young generation from the machine's memory: on a 24 GB machine its semi-spaces grew to 64 MiB
  // each under steady traffic (new space 128 MiB, RSS 246 MiB after a 3-minute soak, never given back). 16 MiB is
  // Node 20's size (new space 32 MiB): RSS 171 MiB under the same soak (bench/memory.ts --soak, BENCHMARKS.md).
  "--max-semi-space-size=16",
];

/** The server's flags that a process started with `execArgv` (default: this one's) lacks. */
export function missingServerFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVER_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
