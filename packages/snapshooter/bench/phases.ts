/**
 * Where a snapshot's CPU goes, phase by phase (read the export, select, render + hash every file; no writing), on
 * source: from `packages/snapshooter`, `node --import tsx bench/phases.ts [export.ndjson] [rounds]`. The first round is
 * the one a real run pays (the compiler's warm-up included); later rounds show the steady state.
 */

import { HOME_TAG } from "../src/model.js";
import { loadPrerenderedGraph, renderPrerendered } from "../src/prerendered.js";
import { fileSource } from "../src/sources/source.js";
import { OLYMPE_TAG } from "../src/test-helpers/generate.js";

const file = process.argv[2] ?? "/tmp/snap4-exports/export.ndjson";
const rounds = Number(process.argv[3] ?? 3);
const meta = { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG] };
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
for (let r = 0; r < rounds; r++) {
  let t = cpu();
  const graph = await loadPrerenderedGraph(fileSource(file));
  const read = cpu() - t;
  t = cpu();
  const snapshot = renderPrerendered(graph, meta);
  const select = cpu() - t;
  t = cpu();
  let bytes = 0;
  for (const [, content] of snapshot.files) bytes += content.length;
  const render = cpu() - t;
  console.log(
    `read ${read.toFixed(0)} ms, select ${select.toFixed(0)} ms, render+hash ${render.toFixed(0)} ms (${bytes} bytes)`,
  );
}
