/**
 * Packing the build context: what `buildImages` sends (the build folder and the Dockerfile's folder) against the
 * seed's `--context .` (the whole project, node_modules included), on a project shaped like a real one.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterAll, bench, describe } from "vitest";
import { packContext } from "../src/context.js";

const project = mkdtempSync(join(tmpdir(), "rollway-context-bench-"));
function write(path: string, bytes: number) {
  mkdirSync(join(project, path, ".."), { recursive: true });
  writeFileSync(join(project, path), "x".repeat(bytes));
}
// 200 web files (~2 MB), 3 000 node_modules files (~6 MB), a Dockerfile folder.
for (let i = 0; i < 200; i++) write(`dist/web/assets/chunk-${i}.js`, 10_000);
for (let i = 0; i < 3000; i++) write(`node_modules/pkg-${i % 300}/file-${i}.js`, 2_000);
write("docker/frontend.Dockerfile", 100);
write("docker/nginx.conf", 200);
write(".dockerignore", 0);
writeFileSync(join(project, ".dockerignore"), "**/*.map\n");

afterAll(() => rmSync(project, { recursive: true, force: true }));

async function drain(stream: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
}

describe("build context for the frontend image", () => {
  bench("buildImages' context: dist/web + docker/", async () => {
    await drain(await packContext({ projectDir: project, entries: ["dist/web", "docker"] }));
  });
  bench("baseline: the seed's --context . (whole project)", async () => {
    await drain(await packContext({ projectDir: project, entries: ["."] }));
  });
});
