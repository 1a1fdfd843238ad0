import { mkdir, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { BASE_IMAGES, TEST_USER } from "../test/global-setup.js";
import { registryReader } from "../test/registry-client.js";
import { tempDir } from "../test/temp-dir.js";
import { type BuildImagesOptions, type BuildProgressEvent, buildImages } from "./build-images.js";
import { ImageBuildError } from "./errors.js";

const sha = "3f2a9c1d7e6b5a4c3f2a9c1d7e6b5a4c3f2a9c1d";
const created = new Date("2026-03-04T05:06:07Z");
let runCounter = 0;

/** A project as seed 004's build leaves it: dist/web, dist/node, dist/codeAsData. */
async function seedProject(files: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir();
  const all = {
    "dist/web/index.html": "<h1>app</h1>",
    "dist/web/main.js": "console.log('app')",
    "dist/node/index.js": "console.log('backend')",
    "dist/codeAsData/patches/0001.json": '{"patch":1}',
    "node_modules/big/index.js": "not for the image",
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

function options(projectDir: string, overrides: Partial<BuildImagesOptions> = {}): BuildImagesOptions {
  runCounter += 1;
  return {
    projectDir,
    registry: `${inject("registry")}/team`,
    // A fresh name per run, so the registry's tag lists show only this test's pushes.
    name: `app${runCounter}`,
    images: [
      { kind: "frontend", baseImage: BASE_IMAGES.frontend },
      { kind: "backend", baseImage: BASE_IMAGES.backend },
      { kind: "codeAsData", baseImage: BASE_IMAGES.codeAsData },
    ],
    git: { ref: "Release/2.0", sha, tag: "v2.0_rc1" },
    appVersion: "2.0.7",
    source: "https://oauth2:glpat-TOKEN@gitlab.example.com/team/app.git",
    engine: { socketPath: inject("podmanSocket") },
    dockerConfigDir: "/nonexistent-docker-config",
    now: () => created,
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<ImageBuildError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageBuildError);
  return error as ImageBuildError;
}

describe("buildImages against podman and a registry", () => {
  it("builds the three kinds with the seed's tags and labels, pushes them, and returns the payload's images", async () => {
    const project = await seedProject();
    const events: BuildProgressEvent[] = [];
    const opts = options(project, { additionalTags: ["stable"], onProgress: (e) => events.push(e) });
    const result = await buildImages(opts);

    const registry = inject("registry");
    const repo = (kind: string) => `${registry}/team/${opts.name}-${kind}`;
    expect(result.payload).toEqual({
      frontend: { image: `${repo("frontend")}:release-2-0-3f2a9c1d` },
      backends: { images: [`${repo("backend")}:release-2-0-3f2a9c1d`] },
      codeAsData: { image: `${repo("codeasdata")}:release-2-0-3f2a9c1d` },
    });

    const reader = registryReader(registry);
    const expectedTags = ["latest", "release-2-0", "release-2-0-3f2a9c1d", "stable", "v2.0-rc1"];
    for (const kind of ["frontend", "backend", "codeasdata"]) {
      expect(await reader.tags(`team/${opts.name}-${kind}`)).toEqual(expectedTags);
    }
    const frontend = await reader.image(`team/${opts.name}-frontend`, "release-2-0-3f2a9c1d");
    expect(frontend.labels).toMatchObject({
      draw_version: "2.0.7",
      "org.opencontainers.image.revision": sha,
      "org.opencontainers.image.source": "https://gitlab.example.com/team/app.git",
      "org.opencontainers.image.created": "2026-03-04T05:06:07.000Z",
    });
    expect(frontend.files).toContainEqual(
      expect.objectContaining({ name: "usr/share/nginx/html/index.html", uid: 101, gid: 0, content: "<h1>app</h1>" }),
    );
    // Only the build folder travels: nothing from node_modules reaches the image.
    expect(frontend.files.some((f) => f.name.includes("node_modules") || f.name.includes("dist/"))).toBe(false);
    expect(result.images[0]?.digest).toBe(frontend.digest);

    const backend = await reader.image(`team/${opts.name}-backend`, "latest");
    expect(backend.files).toContainEqual(expect.objectContaining({ name: "home/node/app/index.js", uid: 0 }));
    const codeAsData = await reader.image(`team/${opts.name}-codeasdata`, "v2.0-rc1");
    expect(codeAsData.files).toContainEqual(
      expect.objectContaining({ name: "root/patches/patches/0001.json", uid: 1000, gid: 1000, mode: 0o644 }),
    );

    // The build stream is shown as progress, step by step, then every push.
    const lines = events.flatMap((e) => (e.type === "build-output" ? [e.line] : []));
    // The labels are one step at the end (FROM, ARG, COPY, LABEL), not one per label.
    expect(lines).toContain("STEP 3/4: COPY --chown=nginx:root $SOURCES_PATH /usr/share/nginx/html");
    expect(lines.filter((line) => /^STEP \d+\/\d+: LABEL /.test(line))).toHaveLength(3);
    expect(events.filter((e) => e.type === "push-finished")).toHaveLength(15);
    expect(events[0]).toMatchObject({
      type: "build-started",
      kind: "frontend",
      dockerfile: ".rollway/frontend.Dockerfile",
    });
  });

  it("uses the project's own Dockerfile from docker/, with the files beside it, and honours .dockerignore", async () => {
    const project = await seedProject({
      "docker/frontend.Dockerfile": `ARG BASE_IMAGE\nFROM $BASE_IMAGE\nARG SOURCES_PATH\nCOPY docker/nginx.conf /etc/nginx/conf.d/default.conf\nCOPY $SOURCES_PATH /usr/share/nginx/html\n`,
      "docker/nginx.conf": "server {}",
      "dist/web/main.js.map": "{}",
      // Docker sends the Dockerfile even when .dockerignore matches it; so do we.
      ".dockerignore": "**/*.map\ndocker/*.Dockerfile\n",
    });
    const opts = options(project, { images: [{ kind: "frontend", baseImage: BASE_IMAGES.frontend }] });
    const result = await buildImages(opts);
    expect(Object.keys(result.payload)).toEqual(["frontend"]);
    const image = await registryReader(inject("registry")).image(`team/${opts.name}-frontend`, "latest");
    const names = image.files.map((f) => f.name);
    expect(names).toContain("etc/nginx/conf.d/default.conf");
    expect(names).toContain("usr/share/nginx/html/main.js");
    expect(names).not.toContain("usr/share/nginx/html/main.js.map");
  });

  it("reports the failing step of a COPY of a missing path, and pushes nothing", async () => {
    const project = await seedProject();
    const opts = options(project, {
      images: [{ kind: "frontend", baseImage: BASE_IMAGES.frontend, buildArgs: { SOURCES_PATH: "dist/missing" } }],
    });
    const error = await failure(buildImages(opts));
    expect(error.code).toBe("BUILD_FAILED");
    expect(error.step).toEqual({
      number: 3,
      total: 4,
      instruction: "COPY --chown=nginx:root $SOURCES_PATH /usr/share/nginx/html",
      dockerfile: ".rollway/frontend.Dockerfile",
      line: 4,
    });
    expect(error.message).toContain(
      `${inject("registry")}/team/${opts.name}-frontend: build failed at .rollway/frontend.Dockerfile line 4`,
    );
    expect(error.message).toContain("dist/missing");
    const tags = await registryReader(inject("registry"))
      .tags(`team/${opts.name}-frontend`)
      .catch((e: Error) => e.message);
    expect(tags).toContain("404");
  });

  it("reports the seed's codeasdata Dockerfile failing at its RUN step on a base without a shell", async () => {
    const project = await seedProject({
      "docker/codeasdata.Dockerfile": `ARG BASE_IMAGE\nFROM $BASE_IMAGE\nARG SOURCES_PATH\nCOPY --chown=1000:1000 $SOURCES_PATH /root/patches\nRUN chmod 775 ~/patches\nRUN chown -R 1000:1000 ~/patches\n`,
    });
    const error = await failure(
      buildImages(options(project, { images: [{ kind: "codeAsData", baseImage: BASE_IMAGES.codeAsData }] })),
    );
    expect(error.code).toBe("BUILD_FAILED");
    expect(error.step).toEqual({
      number: 4,
      total: 6,
      instruction: "RUN chmod 775 ~/patches",
      dockerfile: "docker/codeasdata.Dockerfile",
      line: 5,
    });
  });

  it("builds without pushing when asked, and still gives the payload's images", async () => {
    const project = await seedProject();
    const events: BuildProgressEvent[] = [];
    const opts = options(project, { images: ["backend"], push: false, onProgress: (e) => events.push(e) });
    opts.images = [{ kind: "backend", baseImage: BASE_IMAGES.backend }];
    const result = await buildImages(opts);
    expect(result.images[0]).toMatchObject({ pushed: false, digest: undefined });
    expect(result.images[0]?.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.payload.backends?.images).toEqual([
      `${inject("registry")}/team/${opts.name}-backend:release-2-0-3f2a9c1d`,
    ]);
    expect(events.some((e) => e.type.startsWith("push"))).toBe(false);
  });
});

const ENGINES = [
  { engine: "podman", socket: () => inject("podmanSocket") },
  { engine: "Docker Engine (classic builder)", socket: () => inject("dockerSocket") },
] as const;

describe("the built-in code-as-data Dockerfile on both engines", () => {
  /** The files of the image's last layer (the COPY of the patches), as the registry serves them. */
  async function patchesLayer(socket: string, project: string) {
    const opts = options(project, {
      engine: { socketPath: socket },
      images: [{ kind: "codeAsData", baseImage: BASE_IMAGES.codeAsData }],
      additionalTags: undefined,
    });
    await buildImages(opts);
    const image = await registryReader(inject("registry")).image(`team/${opts.name}-codeasdata`, "latest");
    return image.files
      .filter((f) => f.name.startsWith("root/patches"))
      .map(({ name, uid, gid, mode, content }) => ({ name: name.replace(/\/$/, ""), uid, gid, mode, content }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  it("leaves ~/patches as the seed's COPY --chown, chmod 775 ~/patches, chown -R 1000:1000 do, identically on podman and Docker Engine", async () => {
    const project = await seedProject({ "dist/codeAsData/orchestrator.json": '{"o":1}' });
    const expected = [
      { name: "root/patches", uid: 1000, gid: 1000, mode: 0o775, content: "" },
      { name: "root/patches/orchestrator.json", uid: 1000, gid: 1000, mode: 0o644, content: '{"o":1}' },
      { name: "root/patches/patches", uid: 1000, gid: 1000, mode: 0o755, content: "" },
      { name: "root/patches/patches/0001.json", uid: 1000, gid: 1000, mode: 0o644, content: '{"patch":1}' },
    ];
    const onPodman = await patchesLayer(inject("podmanSocket"), project);
    const onDocker = await patchesLayer(inject("dockerSocket"), project);
    expect(onPodman).toEqual(expected);
    expect(onDocker).toEqual(expected);
  });
});

describe.each(ENGINES)("a release that cannot be built or pushed whole, on $engine", ({ socket }) => {
  it("pushes nothing when a later image fails to build", async () => {
    const project = await seedProject();
    const opts = options(project, {
      engine: { socketPath: socket() },
      images: [
        { kind: "frontend", baseImage: BASE_IMAGES.frontend },
        { kind: "backend", baseImage: "localhost/rollway-test/no-such-base:1" },
      ],
    });
    const error = await failure(buildImages(opts));
    expect(error.code).toBe("BUILD_FAILED");
    expect(error.image).toBe(`${inject("registry")}/team/${opts.name}-backend`);
    const reader = registryReader(inject("registry"));
    for (const kind of ["frontend", "backend"]) {
      const tags = await reader.tags(`team/${opts.name}-${kind}`).catch((e: Error) => e.message);
      expect(tags).toContain("404");
    }
  });

  it("pushes every image's commit tag before any moving tag, and names what moved when a push fails part-way", async () => {
    const project = await seedProject();
    const opts = options(project, {
      engine: { socketPath: socket() },
      images: [
        { kind: "frontend", baseImage: BASE_IMAGES.frontend },
        { kind: "backend", baseImage: BASE_IMAGES.backend, repository: "127.0.0.1:1/team/unreachable-backend" },
      ],
    });
    const error = await failure(buildImages(opts));
    const frontend = `${inject("registry")}/team/${opts.name}-frontend:release-2-0-3f2a9c1d`;
    expect(error.code).toBe("PUSH_FAILED");
    expect(error.pushed).toEqual([frontend]);
    expect(error.message).toContain("127.0.0.1:1/team/unreachable-backend:release-2-0-3f2a9c1d: push failed");
    expect(error.message).toContain(`pushed before this failure (these tags now point at this build): ${frontend}`);
    // latest, the branch and the git tag did not move.
    expect(await registryReader(inject("registry")).tags(`team/${opts.name}-frontend`)).toEqual([
      "release-2-0-3f2a9c1d",
    ]);
  });
});

describe.each(ENGINES)("a project's Dockerfile on $engine", ({ socket }) => {
  const dockerfile = [
    "# syntax and comments do not count as steps",
    "ARG BASE_IMAGE",
    "FROM $BASE_IMAGE",
    "",
    "ARG SOURCES_PATH",
    "COPY config/app.json \\",
    "     /etc/app/app.json",
    "COPY $SOURCES_PATH /usr/share/nginx/html",
    "COPY missing.txt /etc/app/",
    "",
  ].join("\n");

  it("gets the whole project, filtered by .dockerignore, as docker build . does", async () => {
    const project = await seedProject({
      "docker/frontend.Dockerfile": dockerfile.replace("COPY missing.txt /etc/app/\n", "COPY . /src\n"),
      "config/app.json": '{"app":1}',
      "secret.env": "TOKEN=x",
      ".dockerignore": "secret.env\nnode_modules\n",
    });
    const opts = options(project, {
      engine: { socketPath: socket() },
      images: [{ kind: "frontend", baseImage: BASE_IMAGES.frontend }],
      additionalTags: undefined,
    });
    await buildImages(opts);
    const image = await registryReader(inject("registry")).image(`team/${opts.name}-frontend`, "latest");
    const names = image.files.map((f) => f.name.replace(/\/$/, ""));
    expect(names).toContain("etc/app/app.json");
    expect(names).toContain("src/config/app.json");
    expect(names).not.toContain("src/secret.env");
    expect(names.some((n) => n.startsWith("src/node_modules"))).toBe(false);
    // The copy of the Dockerfile that carries the labels is listed in .dockerignore, as docker's CLI lists a
    // Dockerfile it adds (`docker build -f - .`): no COPY sees it, and the project's own Dockerfile is as written.
    expect(names.some((n) => n.startsWith("src/.rollway"))).toBe(false);
    const file = (name: string) => image.files.find((f) => f.name === name)?.content;
    expect(file("src/docker/frontend.Dockerfile")).toBe(
      dockerfile.replace("COPY missing.txt /etc/app/\n", "COPY . /src\n"),
    );
    expect(file("src/.dockerignore")).toBe("secret.env\nnode_modules\n.rollway-frontend.Dockerfile\n");
  });

  it("sets the labels in one LABEL step, their values exactly as given, even those the Dockerfile parser expands", async () => {
    const project = await seedProject({
      // No .dockerignore, and no line break at the end.
      "docker/backend.Dockerfile": `ARG BASE_IMAGE\nFROM $BASE_IMAGE\nARG SOURCES_PATH\nCOPY $SOURCES_PATH /home/node/app\nCOPY . /src`,
    });
    const lines: string[] = [];
    const appVersion = `2.0.7 "$BASE_IMAGE" \${SOURCES_PATH:-x} \\ 'q' \`b\` ünï=€`;
    const opts = options(project, {
      engine: { socketPath: socket() },
      images: [{ kind: "backend", baseImage: BASE_IMAGES.backend }],
      additionalTags: undefined,
      appVersion,
      onProgress: (e) => {
        if (e.type === "build-output") lines.push(e.line);
      },
    });
    await buildImages(opts);
    const image = await registryReader(inject("registry")).image(`team/${opts.name}-backend`, "latest");
    expect(image.labels).toMatchObject({
      draw_version: appVersion,
      "org.opencontainers.image.revision": sha,
      "org.opencontainers.image.source": "https://gitlab.example.com/team/app.git",
      "org.opencontainers.image.created": "2026-03-04T05:06:07.000Z",
    });
    expect(lines.filter((line) => /^step \d+\/\d+ ?: LABEL /i.test(line))).toHaveLength(1);
    const names = image.files.map((f) => f.name.replace(/\/$/, ""));
    expect(names).toContain("src/docker/backend.Dockerfile");
    expect(names.filter((n) => n.startsWith("src/.rollway") || n === "src/.dockerignore")).toEqual([]);
  });

  it("with the small context, a COPY of another project file fails with a hint to send the project", async () => {
    const project = await seedProject({
      "docker/frontend.Dockerfile": dockerfile.replace("COPY missing.txt /etc/app/\n", ""),
      "config/app.json": '{"app":1}',
    });
    const error = await failure(
      buildImages(
        options(project, {
          engine: { socketPath: socket() },
          images: [{ kind: "frontend", baseImage: BASE_IMAGES.frontend }],
          context: "small",
          push: false,
        }),
      ),
    );
    expect(error.code).toBe("BUILD_FAILED");
    expect(error.step).toMatchObject({ dockerfile: "docker/frontend.Dockerfile", line: 6 });
    expect(error.message).toContain('send the whole project (context: "project", rollway build --context project)');
  });

  it("names the failing step by the Dockerfile's own line", async () => {
    const project = await seedProject({ "docker/frontend.Dockerfile": dockerfile, "config/app.json": "{}" });
    const error = await failure(
      buildImages(
        options(project, {
          engine: { socketPath: socket() },
          images: [{ kind: "frontend", baseImage: BASE_IMAGES.frontend }],
          push: false,
        }),
      ),
    );
    expect(error.step).toMatchObject({
      instruction: "COPY missing.txt /etc/app/",
      dockerfile: "docker/frontend.Dockerfile",
      line: 9,
    });
    expect(error.message).toContain("build failed at docker/frontend.Dockerfile line 9 (COPY missing.txt /etc/app/)");
  });
});

describe("buildImages with the defaults", () => {
  it("builds every kind whose build folder exists, with the project's Dockerfiles, named after the project folder", async () => {
    const project = await seedProject({
      "docker/frontend.Dockerfile": `FROM ${BASE_IMAGES.frontend}\nARG SOURCES_PATH\nCOPY $SOURCES_PATH /usr/share/nginx/html\n`,
      "docker/backend.Dockerfile": `FROM ${BASE_IMAGES.backend}\nARG SOURCES_PATH\nCOPY $SOURCES_PATH /home/node/app\n`,
    });
    await rm(join(project, "dist/codeAsData"), { recursive: true });
    const events: BuildProgressEvent[] = [];
    const opts = options(project, {
      images: undefined,
      name: undefined,
      push: false,
      onProgress: (e) => events.push(e),
    });
    const result = await buildImages(opts);
    const name = basename(project).toLowerCase();
    expect(result.images.map((i) => [i.kind, i.repository])).toEqual([
      ["frontend", `${inject("registry")}/team/${name}-frontend`],
      ["backend", `${inject("registry")}/team/${name}-backend`],
    ]);
    expect(
      events.filter((e) => e.type === "build-started").map((e) => e.type === "build-started" && e.dockerfile),
    ).toEqual(["docker/frontend.Dockerfile", "docker/backend.Dockerfile"]);
  });

  it("builds several backends, each in its own repository, into the payload's backends.images", async () => {
    const project = await seedProject({ "dist/api/index.js": "console.log('api')" });
    const registry = inject("registry");
    const result = await buildImages(
      options(project, {
        push: false,
        images: [
          { kind: "backend", baseImage: BASE_IMAGES.backend },
          { kind: "backend", baseImage: BASE_IMAGES.backend, sources: "dist/api", repository: `${registry}/team/api` },
        ],
      }),
    );
    expect(result.payload.backends?.images).toEqual([
      expect.stringMatching(new RegExp(`^${registry}/team/app\\d+-backend:release-2-0-3f2a9c1d$`)),
      `${registry}/team/api:release-2-0-3f2a9c1d`,
    ]);
  });

  it("says the push failed when the registry cannot be reached", async () => {
    const project = await seedProject();
    const error = await failure(
      buildImages(
        options(project, {
          registry: "127.0.0.1:1/team",
          images: [{ kind: "backend", baseImage: BASE_IMAGES.backend }],
        }),
      ),
    );
    expect(error.code).toBe("PUSH_FAILED");
    expect(error.message).toMatch(
      /^127\.0\.0\.1:1\/team\/app\d+-backend:release-2-0-3f2a9c1d: push failed: .*connection refused.*; nothing was pushed$/s,
    );
    expect(error.pushed).toEqual([]);
  });

  it("reports a base image that cannot be pulled as a failure of the FROM step", async () => {
    const project = await seedProject();
    const error = await failure(buildImages(options(project, { images: ["frontend"], push: false })));
    expect(error.code).toBe("BUILD_FAILED");
    // The built-in Dockerfile's default base; podman shows the step with the argument expanded.
    expect(error.step).toMatchObject({ number: 1, instruction: "FROM olympeio/frontend-base:stable", line: 2 });
    expect(error.message).toContain("olympeio/frontend-base:stable");
  });
});

describe("buildImages pushing to a registry with auth", () => {
  async function dockerConfig(auths: Record<string, unknown>): Promise<string> {
    const dir = await tempDir();
    await writeFile(join(dir, "config.json"), JSON.stringify({ auths }));
    return dir;
  }

  function authOptions(project: string, overrides: Partial<BuildImagesOptions>): BuildImagesOptions {
    return options(project, {
      registry: `${inject("authRegistry")}/team`,
      images: [{ kind: "backend", baseImage: BASE_IMAGES.backend }],
      additionalTags: undefined,
      git: { ref: "main", sha },
      ...overrides,
    });
  }

  it("pushes with the credentials of the Docker config file", async () => {
    const project = await seedProject();
    const auth = Buffer.from(`${TEST_USER.name}:${TEST_USER.password}`).toString("base64");
    const dockerConfigDir = await dockerConfig({ [`http://${inject("authRegistry")}`]: { auth } });
    const opts = authOptions(project, { dockerConfigDir });
    const result = await buildImages(opts);
    const reader = registryReader(inject("authRegistry"), TEST_USER);
    expect(await reader.tags(`team/${opts.name}-backend`)).toEqual(["latest", "main", "main-3f2a9c1d"]);
    expect(result.images[0]?.digest).toBe((await reader.image(`team/${opts.name}-backend`, "main")).digest);
  });

  it("pushes with credentials given as arguments", async () => {
    const project = await seedProject();
    const opts = authOptions(project, {
      credentials: { [inject("authRegistry")]: { username: TEST_USER.name, password: TEST_USER.password } },
    });
    await buildImages(opts);
    expect(await registryReader(inject("authRegistry"), TEST_USER).tags(`team/${opts.name}-backend`)).toHaveLength(3);
  });

  it("says the registry refused the credentials, and never shows the password", async () => {
    const project = await seedProject();
    const password = "wrong-Secret-123";
    const events: BuildProgressEvent[] = [];
    const opts = authOptions(project, {
      credentials: { [inject("authRegistry")]: { username: TEST_USER.name, password } },
      onProgress: (e) => events.push(e),
    });
    const error = await failure(buildImages(opts));
    expect(error.code).toBe("AUTH_FAILED");
    expect(error.message).toContain(`${inject("authRegistry")}/team/${opts.name}-backend:main-3f2a9c1d: push refused`);
    expect(error.message).toContain(`the registry refused the credentials used for ${inject("authRegistry")}`);
    for (const seen of [error.message, inspect(error, { depth: 10 }), JSON.stringify(events)]) {
      expect(seen).not.toContain(password);
      expect(seen).not.toContain(Buffer.from(`${TEST_USER.name}:${password}`).toString("base64"));
    }
  });

  it("says no credentials were found when the registry wants some", async () => {
    const project = await seedProject();
    const error = await failure(buildImages(authOptions(project, {})));
    expect(error.code).toBe("AUTH_FAILED");
    expect(error.message).toContain(`no credentials were found for ${inject("authRegistry")}`);
  });
});

describe("buildImages refusing bad input before building", () => {
  const unreachable = { socketPath: "/nonexistent/rollway.sock" };

  it("lists every problem, with where it is, without contacting the engine", async () => {
    const project = await seedProject();
    const error = await failure(
      buildImages(
        options(project, {
          engine: unreachable,
          images: [
            { kind: "frontend", sources: "dist/nope" },
            { kind: "frontend", dockerfile: "docker/missing.Dockerfile" },
            { kind: "backend", repository: "Registry.example.com/Team/App:1" },
            { kind: "codeAsData", sources: "../outside" },
          ],
          git: { ref: "main", sha: "xyz" },
        }),
      ),
    );
    expect(error.problems.map((p) => `${p.code} ${p.path}`)).toEqual([
      "INVALID_OPTIONS git.sha",
      "SOURCES_NOT_FOUND images[0].sources",
      "INVALID_OPTIONS images[1].repository",
      "DOCKERFILE_NOT_FOUND images[1].dockerfile",
      "INVALID_OPTIONS images[2].repository",
      "SOURCES_NOT_FOUND images[3].sources",
      "INVALID_OPTIONS images",
    ]);
    expect(error.message).toContain(`images[0].sources: build folder ${join(project, "dist/nope")} does not exist`);
    expect(error.message).toContain("the deploy payload takes one frontend image, and 2 are asked for");
  });

  it("names the build folders when the project has none of them", async () => {
    const project = await tempDir();
    const error = await failure(buildImages(options(project, { images: undefined, engine: unreachable })));
    expect(error.code).toBe("SOURCES_NOT_FOUND");
    expect(error.message).toContain("none of the build folders (dist/web, dist/node, dist/codeAsData) exists");
  });

  it("refuses a git tag that cannot become an image tag", async () => {
    const project = await seedProject();
    const error = await failure(
      buildImages(options(project, { engine: unreachable, git: { ref: "main", sha, tag: "v1.0+build.5" } })),
    );
    expect(error.problems.map((p) => p.path)).toEqual(["git.tag"]);
  });

  it("says how to start an engine when none answers", async () => {
    const project = await seedProject();
    const error = await failure(buildImages(options(project, { engine: unreachable })));
    expect(error.code).toBe("ENGINE_UNREACHABLE");
    expect(error.message).toContain("unix:///nonexistent/rollway.sock: no Docker Engine API answers");
    expect(error.message).toContain("podman system service");
  });

  it("stops when cancelled, during the build", async () => {
    const project = await seedProject();
    const controller = new AbortController();
    const opts = options(project, {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === "build-output") controller.abort();
      },
    });
    const error = await failure(buildImages(opts));
    expect(error.code).toBe("ABORTED");
    const tags = await registryReader(inject("registry"))
      .tags(`team/${opts.name}-frontend`)
      .catch((e: Error) => e.message);
    expect(tags).toContain("404");
  });
});
