/**
 * A container engine serving the Docker Engine API on a unix socket of its own, with all its state (vfs storage, run
 * and exec folders) in a temp folder: `podman system service` and Docker Engine (`dockerd`, Debian's docker.io). The
 * two differ only in the data below (command, arguments, files written first, when the API answers); `startEngine`
 * does the rest. `stop()` ends the engine and removes everything.
 */
import { type FSWatcher, watch } from "node:fs";
import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startInTempDir, waitForOutput } from "./process.js";
import { INSTALL_HINT } from "./registry-resource.js";

export interface EngineResource {
  socketPath: string;
  stop(): Promise<void>;
}

/** What makes one engine: everything `startEngine` needs, as data. */
interface EngineSpec {
  /** The program, and its name in messages. */
  command: string;
  installHint: string;
  /** The socket's file name in the state folder. */
  socket: string;
  /** Files written in the state folder before the start, by relative path; a path ending in `/` is a folder. */
  files?: Record<string, string>;
  args(dir: string, socketPath: string): string[];
  env?(dir: string): NodeJS.ProcessEnv;
  /** Output that says the API answers, for an engine whose socket appears before it does. */
  ready?: RegExp;
}

/** podman, with registries.conf marking the test registries insecure (docker takes loopback ones as insecure). */
function podmanSpec(options: { insecureRegistries: readonly string[] }): EngineSpec {
  return {
    command: "podman",
    installHint: INSTALL_HINT,
    socket: "podman.sock",
    files: {
      "tmp/": "",
      "registries.conf": `unqualified-search-registries = []\n${options.insecureRegistries
        .map((host) => `[[registry]]\nlocation = "${host}"\ninsecure = true\n`)
        .join("")}`,
    },
    args: (dir, socketPath) => [
      "--storage-driver=vfs",
      `--root=${join(dir, "root")}`,
      `--runroot=${join(dir, "runroot")}`,
      `--tmpdir=${join(dir, "tmp")}`,
      "--cgroup-manager=cgroupfs",
      "--events-backend=file",
      "system",
      "service",
      "--time=0",
      `unix://${socketPath}`,
    ],
    env: (dir) => ({
      ...process.env,
      CONTAINERS_REGISTRIES_CONF: join(dir, "registries.conf"),
      TMPDIR: join(dir, "tmp"),
    }),
  };
}

/**
 * dockerd with no networking of its own (no bridge, no iptables): the tests only build and push, and a build without
 * RUN needs no container. It must run as root.
 */
const DOCKERD_SPEC: EngineSpec = {
  command: "dockerd",
  installHint:
    "install it with `apt-get install docker.io` (CI runs scripts/ci/setup-docker.sh, which does); it must run as root",
  socket: "docker.sock",
  args: (dir, socketPath) => [
    "--storage-driver=vfs",
    `--data-root=${join(dir, "root")}`,
    `--exec-root=${join(dir, "exec")}`,
    `--pidfile=${join(dir, "docker.pid")}`,
    `--host=unix://${socketPath}`,
    "--iptables=false",
    "--ip-masq=false",
    "--bridge=none",
    "--userland-proxy=false",
  ],
  ready: /API listen on/,
};

export const startPodman = (options: { insecureRegistries: readonly string[] }) => startEngine(podmanSpec(options));
export const startDockerd = () => startEngine(DOCKERD_SPEC);

async function startEngine(spec: EngineSpec): Promise<EngineResource> {
  let socketPath = "";
  const { stop } = await startInTempDir(`rollway-${spec.command}-`, async (dir) => {
    socketPath = join(dir, spec.socket);
    for (const [path, content] of Object.entries(spec.files ?? {})) {
      if (path.endsWith("/")) await mkdir(join(dir, path), { recursive: true });
      else await writeFile(join(dir, path), content);
    }
    return {
      command: spec.command,
      args: spec.args(dir, socketPath),
      env: spec.env?.(dir),
      installHint: spec.installHint,
      async ready(engine) {
        let watcher: FSWatcher | undefined;
        try {
          const socketCreated = new Promise<void>((resolve) => {
            const check = () => access(socketPath).then(resolve, () => {});
            watcher = watch(dir, check);
            check(); // It may have appeared before the watch began.
          });
          // Ready when the socket appears (and the engine says the API answers); an exit before is an error.
          await Promise.race([socketCreated, waitForOutput(engine, /(?!)/, spec.command)]);
          if (spec.ready) await waitForOutput(engine, spec.ready, spec.command);
        } finally {
          watcher?.close();
        }
      },
    };
  });
  return { socketPath, stop };
}
