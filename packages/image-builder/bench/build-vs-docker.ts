/**
 * Build times of the three kinds beside a plain `docker build` of the same context, Dockerfile and build argument on
 * the same engine: podman's Docker API (`podman system service`, vfs) and Docker Engine (`dockerd --storage-driver=vfs`,
 * classic builder, as rollway uses it), each started here in a temp folder. Build only, no push. Each measured build
 * first changes one file of the build folder, so neither side is served from the layer cache.
 *
 *   pnpm --filter @rollway/image-builder exec tsx bench/build-vs-docker.ts [rounds=3]
 *
 * Prints one row per engine and kind: the median wall time of rollway's buildImages and of `docker build`, plain, with
 * the same labels as `--label`s (the build API's labels parameter: one step per label on both engines here) and with
 * them as one LABEL line at the Dockerfile's end (`-f -`, what rollway sends).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { type BuildImagesOptions, buildImages } from "../src/build-images.js";
import { withLabelInstruction } from "../src/dockerfile-lines.js";
import type { ImageKind } from "../src/dockerfiles.js";
import { imageLabels } from "../src/tags.js";
import { startDockerd, startPodman } from "../test/engine-resource.js";

const run = promisify(execFile);
const rounds = Number(process.argv[2] ?? 3);

const KINDS: { kind: ImageKind; sources: string; dockerfile: string; target: string }[] = [
  { kind: "frontend", sources: "dist/web", dockerfile: "docker/frontend.Dockerfile", target: "/usr/share/nginx/html" },
  { kind: "backend", sources: "dist/node", dockerfile: "docker/backend.Dockerfile", target: "/home/node/app" },
  {
    kind: "codeAsData",
    sources: "dist/codeAsData",
    dockerfile: "docker/codeasdata.Dockerfile",
    target: "/root/patches",
  },
];

/** A project like seed 004's after its build: ~2 MB of web files, a backend bundle, 500 patches, and node_modules. */
async function makeProject(dir: string): Promise<void> {
  const files: Record<string, string> = { ".dockerignore": "node_modules\n.git\n" };
  for (let i = 0; i < 200; i++) files[`dist/web/assets/chunk-${i}.js`] = `// chunk ${i}\n${"x".repeat(10_000)}\n`;
  files["dist/web/index.html"] = "<h1>app</h1>\n";
  files["dist/node/index.js"] = `${"// backend\n".repeat(20_000)}`;
  for (let i = 0; i < 500; i++)
    files[`dist/codeAsData/patches/${String(i).padStart(4, "0")}.json`] = `{"patch":${i}}\n`;
  for (let i = 0; i < 300; i++) files[`node_modules/dep-${i}/index.js`] = "y".repeat(30_000);
  for (const { dockerfile, target } of KINDS) {
    files[dockerfile] = `FROM scratch\nARG SOURCES_PATH\nCOPY $SOURCES_PATH ${target}\n`;
  }
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/** `docker build -f -`: the Dockerfile on standard input. */
function runWithInput(
  command: string,
  args: string[],
  input: string,
  options: { cwd: string; env: NodeJS.ProcessEnv },
) {
  const done = run(command, args, options);
  done.child.stdin?.end(input);
  return done;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "rollway-build-bench-"));
  const project = join(dir, "shop");
  await makeProject(project);
  const engines = [
    { name: "podman", resource: await startPodman({ insecureRegistries: [] }) },
    { name: "dockerd (vfs, classic builder)", resource: await startDockerd() },
  ];
  const rows: Record<string, string | number>[] = [];
  let n = 0;
  try {
    for (const engine of engines) {
      const socket = engine.resource.socketPath;
      for (const spec of KINDS) {
        const bump = () => writeFile(join(project, spec.sources, "build-id.txt"), `${++n}\n`);
        const options: BuildImagesOptions = {
          projectDir: project,
          registry: "127.0.0.1:5999/bench",
          name: "shop",
          images: [{ kind: spec.kind, sources: spec.sources, dockerfile: spec.dockerfile }],
          git: { ref: "main", sha: "3f2a9c1d7e6b5a4c3f2a9c1d7e6b5a4c3f2a9c1d" },
          appVersion: "1.0.0",
          push: false,
          engine: { socketPath: socket },
          dockerConfigDir: join(dir, "no-docker-config"),
        };
        const env = {
          ...process.env,
          DOCKER_HOST: `unix://${socket}`,
          DOCKER_BUILDKIT: "0",
          DOCKER_CONFIG: join(dir, "cli"),
        };
        const plain = [
          "build",
          "--quiet",
          "-f",
          spec.dockerfile,
          "--build-arg",
          `SOURCES_PATH=${spec.sources}`,
          "-t",
          `127.0.0.1:5999/bench/plain-${spec.kind.toLowerCase()}:main`,
          ".",
        ];
        // The same build with the labels rollway sets (the seed's), to tell the labels' cost from rollway's own.
        const labels = imageLabels({ git: options.git, appVersion: "1.0.0", created: new Date() });
        const labelled = [
          ...plain.slice(0, -1),
          ...Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
          ".",
        ];
        // The same labels as one LABEL line at the Dockerfile's end, sent by `-f -` (what rollway sends now).
        const oneLabelStep = withLabelInstruction(
          `FROM scratch\nARG SOURCES_PATH\nCOPY $SOURCES_PATH ${spec.target}\n`,
          labels,
        ) as string;
        const viaStdin = ["build", "--quiet", "-f", "-", ...plain.slice(4)];
        // One untimed build each first: the engine's first build pays for things neither side controls.
        await bump();
        await buildImages(options);
        await bump();
        await run("docker", plain, { cwd: project, env });
        const ours: number[] = [];
        const theirs: number[] = [];
        const theirsLabelled: number[] = [];
        const theirsOneStep: number[] = [];
        for (let round = 0; round < rounds; round++) {
          await bump();
          ours.push(await timed(() => buildImages(options)));
          await bump();
          theirs.push(await timed(() => run("docker", plain, { cwd: project, env })));
          await bump();
          theirsLabelled.push(await timed(() => run("docker", labelled, { cwd: project, env })));
          await bump();
          theirsOneStep.push(await timed(() => runWithInput("docker", viaStdin, oneLabelStep, { cwd: project, env })));
        }
        rows.push({
          engine: engine.name,
          kind: spec.kind,
          "rollway build (ms, median)": Math.round(median(ours)),
          "docker build (ms, median)": Math.round(median(theirs)),
          ratio: Math.round((median(ours) / median(theirs)) * 100) / 100,
          "docker build --label ×4 (ms, median)": Math.round(median(theirsLabelled)),
          "docker build, one LABEL line (ms, median)": Math.round(median(theirsOneStep)),
        });
      }
    }
  } finally {
    for (const engine of engines) await engine.resource.stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.table(rows);
}

await main();
