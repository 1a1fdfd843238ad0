/**
 * The object records of an export, read two ways in one process, CPU time per round: the snapshot's byte reader
 * (`readObjectRecord`, canonical-bytes.ts) and what it replaced (decode, `JSON.parse`, the schema's fast path with its
 * sorted copy, `JSON.stringify`, encode). Both write the same bytes (checked). From `packages/snapshooter`:
 * `node --import tsx bench/object-records.ts [export.ndjson]` (the bench:compare export, `EXPORT_DIR`, by default).
 * The first round includes the compiler's warm-up, as a real run does.
 */
import { readFileSync } from "node:fs";
import { readObjectRecord } from "../src/canonical-bytes.js";
import { parseRecordFast } from "../src/model.js";

const file = readFileSync(process.argv[2] ?? "/tmp/snap4-exports/export.ndjson");
// The object records' spans: `{"record":"object"` has an `o` where a relation has an `r`.
const spans: number[] = [];
for (let start = 0; start < file.length; ) {
  const newline = file.indexOf(10, start);
  const end = newline < 0 ? file.length : newline;
  if (file[start + 11] === 111) spans.push(start, end);
  start = end + 1;
}
const cpu = () => process.cpuUsage().user / 1000;
const [a, b] = [Buffer.allocUnsafeSlow(file.length), Buffer.allocUnsafeSlow(file.length)];
for (let round = 0; round < 5; round++) {
  let t = cpu();
  let atA = 0;
  for (let k = 0; k < spans.length; k += 2) {
    atA = readObjectRecord(file, spans[k] as number, spans[k + 1] as number, a, atA);
    if (atA < 0) throw new Error(`record at byte ${spans[k]} declined`);
  }
  const bytesMs = cpu() - t;
  t = cpu();
  let atB = 0;
  for (let k = 0; k < spans.length; k += 2) {
    const fast = parseRecordFast(JSON.parse(file.toString("utf8", spans[k], spans[k + 1])));
    if (fast?.record !== "object") throw new Error(`record at byte ${spans[k]} is not a usual object`);
    atB += b.write(JSON.stringify(fast.object), atB);
  }
  const parseMs = cpu() - t;
  if (!a.subarray(0, atA).equals(b.subarray(0, atB))) throw new Error("the two ways wrote different bytes");
  console.log(
    `${spans.length / 2} objects: byte reader ${bytesMs.toFixed(0)} ms, parse + stringify ${parseMs.toFixed(0)} ms`,
  );
}
