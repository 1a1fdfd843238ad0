/**
 * `rollway build` as a user runs it: the built binary, podman's Docker API socket named by DOCKER_HOST, and Debian's
 * docker-registry on loopback to push to. The project's own Dockerfiles start FROM scratch (nothing can be pulled here).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The image-builder package's test resources: podman system service on its own socket, docker-registry on loopback.
import { type EngineResource, startPodman } from "../../../../packages/image-builder/test/engine-resource.js";
import { registryReader } from "../../../../packages/image-builder/test/registry-client.js";
import { type RegistryResource, startRegistry } from "../../../../packages/image-builder/test/registry-resource.js";
import { rollwayAsync } from "../test-helpers/run-cli.js";

let registry: RegistryResource;
let podman: EngineResource;
const root = mkdtempSync(join(tmpdir(), "rollway-cli-build-"));

beforeAll(async () => {
  registry = await startRegistry();
  podman = await startPodman({ insecureRegistries: [registry.host] });
}, 120_000);
afterAll(async () => {
  await podman?.stop();
  await registry?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A project as seed 004's build leaves it, in a git repository on branch `main`, with its own Dockerfiles. */
function project(name: string, files: Record<string, string>): { dir: string; sha: string } {
  const dir = join(root, name);
  const all = {
    "dist/web/index.html": "<h1>shop</h1>\n",
    "dist/node/index.js": "console.log('backend')\n",
    "docker/frontend.Dockerfile": "FROM scratch\nARG SOURCES_PATH\nCOPY $SOURCES_PATH /usr/share/nginx/html\n",
    "docker/backend.Dockerfile": "FROM scratch\nARG SOURCES_PATH\nCOPY $SOURCES_PATH /home/node/app\n",
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: dir,
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "Dev",
        GIT_AUTHOR_EMAIL: "dev@example.com",
        GIT_COMMITTER_NAME: "Dev",
        GIT_COMMITTER_EMAIL: "dev@example.com",
      },
    }).trim();
  git("init", "-q", "-b", "main");
  git("add", ".");
  git("commit", "-q", "-m", "release");
  return { dir, sha: git("rev-parse", "HEAD") };
}

const engine = () => ({ DOCKER_HOST: `unix://${podman.socketPath}`, DOCKER_CONFIG: join(root, "no-docker-config") });

describe("rollway build against podman's Docker API and a loopback registry", () => {
  it("builds the frontend and the backend, pushes them, prints the payload's images and writes --build-env", async () => {
    const { dir, sha } = project("shop", {});
    const buildEnv = join(root, "build.env");
    const r = await rollwayAsync(
      ["build", "--dir", dir, "--registry", `${registry.host}/team`, "--build-env", buildEnv],
      engine(),
    ).done;
    expect(r.stderr).not.toContain("rollway:");
    expect(r.code).toBe(0);
    const tag = `main-${sha.slice(0, 8)}`;
    const payload = JSON.parse(r.stdout) as { frontend: { image: string }; backends: { images: string[] } };
    expect(payload).toEqual({
      frontend: { image: `${registry.host}/team/shop-frontend:${tag}` },
      backends: { images: [`${registry.host}/team/shop-backend:${tag}`] },
    });
    // What the registry holds: the commit tag and the moving ones, for both images.
    const reader = registryReader(registry.host);
    for (const kind of ["frontend", "backend"]) {
      expect(await reader.tags(`team/shop-${kind}`)).toEqual(expect.arrayContaining([tag, "main", "latest"]));
    }
    const frontend = await reader.image("team/shop-frontend", tag);
    expect(frontend.files.find((f) => f.name.endsWith("index.html"))?.content).toBe("<h1>shop</h1>\n");
    expect(readFileSync(buildEnv, "utf8")).toContain(`FRONTEND_IMAGE=${registry.host}/team/shop-frontend:${tag}`);
  }, 300_000);

  it("fails naming the Dockerfile's own line when a COPY source is missing, and pushes nothing", async () => {
    const { dir } = project("broken", {
      "docker/backend.Dockerfile": "FROM scratch\n\nCOPY config/missing.json /etc/app.json\n",
    });
    const r = await rollwayAsync(["build", "--dir", dir, "--registry", `${registry.host}/team`], engine()).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/docker\/backend\.Dockerfile.*line 3/);
    expect(r.stderr).toContain("config/missing.json");
    expect(r.stdout).toBe("");
    const catalog = (await (await fetch(`http://${registry.host}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(catalog.repositories.filter((repo) => repo.startsWith("team/broken"))).toEqual([]);
  }, 300_000);
});
