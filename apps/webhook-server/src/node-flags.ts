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
];

/** The server's flags that a process started with `execArgv` (default: this one's) lacks. */
export function missingServerFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVER_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}

/**
 * The environment the server runs with, wherever it runs: the image's ENV carries it (a test checks the Dockerfile
 * against this list) and `rollway serve` runs itself again with it when started without. glibc's allocator reads these
 * once, when the process starts: they cannot be set from JavaScript.
 *
 * Why: by default glibc gives each thread its own malloc arena (up to 8 per core) and raises its mmap threshold to the
 * largest block freed (up to 32 MiB), and keeps freed memory in those arenas wherever a live chunk sits above it. The
 * recheck worker thread the server once ran (deploy-rules now checks patterns in child processes) left 45 to 70 MiB
 * there on Node 24 after each burst of new patterns (malloc_stats: 103 MB held, 6 MB in use; `malloc_trim(0)` gave
 * it all back). With two arenas and a fixed 32 KiB mmap threshold, blocks of 32 KiB and more are mapped on their own
 * and unmapped when freed: the server's malloc heaps at idle hold 5 MiB instead of 11 to 12, and its idle RSS is
 * ~5 MiB lower (Node 24: 91 against 96 MiB; Node 20: 72 against 75), with the same throughput (bench/memory.ts,
 * bench/server-env.ts). A value the user set wins.
 */
export const SERVER_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "32768",
};

/** The server's environment variables that `env` (default: this process's) does not set. */
export function missingServerEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(SERVER_ENV).filter(([name]) => env[name] === undefined));
}
