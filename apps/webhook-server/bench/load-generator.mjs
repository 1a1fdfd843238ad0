/**
 * The load benchmark's load generator in its own process: runs autocannon with the options given as JSON in argv[2]
 * and prints one JSON line: autocannon's result and this process's own CPU time (µs), so that bench/load.ts can say
 * whether the load generator or the server was the bottleneck.
 */
import autocannon from "autocannon";

const before = process.cpuUsage();
const result = await autocannon(JSON.parse(process.argv[2]));
const cpu = process.cpuUsage(before);
process.stdout.write(`${JSON.stringify({ result, cpuMicros: cpu.user + cpu.system })}\n`);
