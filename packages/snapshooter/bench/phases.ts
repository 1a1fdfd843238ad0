/**
 * Where a snapshot's CPU goes, phase by phase (read the export, select, render + hash every file; no writing), on
 * source: from `packages/snapshooter`, `node --import tsx bench/phases.ts [export.ndjson] [rounds]`. The first round is
 * the one a real run pays (the compiler's warm-up included); later rounds show the steady state. Each phase's minor page
 * faults too: on this VM a first touch of a fresh 4 kB page costs ~13 µs.
 */

import { HOME_TAG } from "../src/model.js";
import { loadPrerenderedGraph, renderPrerendered } from "../src/prerendered.js";
import { fileSource } from "../src/sources/source.js";
import { OLYMPE_TAG } from "../src/test-helpers/generate.js";

const file = process.argv[2] ?? "/tmp/snap4-exports/export.ndjson";
const rounds = Number(process.argv[3] ?? 3);
const meta = { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG] };
const faults = () => process.resourceUsage().minorPageFault;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
for (let r = 0; r < rounds; r++) {
  let f = faults();
  let t = cpu();
  const graph = await loadPrerenderedGraph(fileSource(file));
  const read = cpu() - t;
  const readFaults = faults() - f;
  f = faults();
  t = cpu();
  const snapshot = renderPrerendered(graph, meta);
  const select = cpu() - t;
  const selectFaults = faults() - f;
  f = faults();
  t = cpu();
  let bytes = 0;
  for (const [, content] of snapshot.files) bytes += content.length;
  const render = cpu() - t;
  const renderFaults = faults() - f;
  console.log(
    `read ${read.toFixed(0)} ms, select ${select.toFixed(0)} ms, render+hash ${render.toFixed(0)} ms (${bytes} bytes); ` +
      `page faults: read ${readFaults}, select ${selectFaults}, render ${renderFaults}`,
  );
}
