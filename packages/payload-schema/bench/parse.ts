/**
 * Micro-benchmark of the dry run's parse path: parseDeployPayload / parseDeployPayloadAsync on the load bench's
 * payload in a tight loop, interleaved with a baseline build when one is given.
 *   node --import tsx bench/parse.ts [--subject dist/index.js] [--baseline <old dist/index.js>] [--rounds 7] [--n 20000]
 * (without --subject: this source, through tsx)
 * Add `--cpu-prof` to node to profile.
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { EXAMPLE_PAYLOAD_TEXT } from "../src/examples.js";

const { values } = parseArgs({
  options: {
    subject: { type: "string" },
    baseline: { type: "string" },
    rounds: { type: "string", default: "7" },
    n: { type: "string", default: "20000" },
  },
});
// Seed 004's example payload, on one line.
const payload = JSON.stringify(JSON.parse(EXAMPLE_PAYLOAD_TEXT));
type Parse = (input: string) => Promise<unknown>;
const subjects: [string, Parse][] = [
  [
    "this",
    (await import(values.subject ? pathToFileURL(values.subject).href : "../src/index.js")).parseDeployPayloadAsync,
  ],
];
if (values.baseline) {
  subjects.push(["baseline", (await import(pathToFileURL(values.baseline).href)).parseDeployPayloadAsync]);
}
const n = Number(values.n);
const times = new Map<string, number[]>(subjects.map(([name]) => [name, []]));
for (let round = 0; round <= Number(values.rounds); round++) {
  for (const [name, parse] of subjects) {
    const before = process.cpuUsage();
    for (let i = 0; i < n; i++) await parse(payload);
    const used = process.cpuUsage(before);
    if (round > 0) times.get(name)?.push((used.user + used.system) / n);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
for (const [name, xs] of times) {
  console.log(`${name}: median ${median(xs).toFixed(2)} µs CPU per parse (${xs.map((x) => x.toFixed(2)).join(" ")})`);
}
