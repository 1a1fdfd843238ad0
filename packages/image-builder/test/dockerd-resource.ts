/**
 * Docker Engine (`dockerd`, Debian's docker.io) on a unix socket of its own, with all its state (vfs storage, exec
 * root, pid file) in a temp folder and no networking of its own (no bridge, no iptables): the tests only build and
 * push, and a build without RUN needs no container. Loopback registries are insecure to docker by default
 * (127.0.0.0/8). `stop()` ends it (and the containerd it started) and removes everything.
 */
import { type FSWatcher, watch } from "node:fs";
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess, waitForOutput } from "./process.js";

export const DOCKERD_INSTALL_HINT =
  "install it with `apt-get install docker.io` (CI runs scripts/ci/setup-docker.sh, which does); it must run as root";

export interface DockerdResource {
  socketPath: string;
  stop(): Promise<void>;
}

export async function startDockerd(): Promise<DockerdResource> {
  const dir = await mkdtemp(join(tmpdir(), "rollway-dockerd-"));
  const socketPath = join(dir, "docker.sock");
  const args = [
    "--storage-driver=vfs",
    `--data-root=${join(dir, "root")}`,
    `--exec-root=${join(dir, "exec")}`,
    `--pidfile=${join(dir, "docker.pid")}`,
    `--host=unix://${socketPath}`,
    "--iptables=false",
    "--ip-masq=false",
    "--bridge=none",
    "--userland-proxy=false",
  ];
  let watcher: FSWatcher | undefined;
  const socketCreated = new Promise<void>((resolve) => {
    watcher = watch(dir, () => {
      access(socketPath).then(resolve, () => {});
    });
  });
  try {
    const dockerd = await startProcess("dockerd", args, { installHint: DOCKERD_INSTALL_HINT });
    try {
      await Promise.race([socketCreated, waitForOutput(dockerd, /(?!)/, "dockerd")]);
      // The socket appears before the API answers: wait for the daemon to say it is ready.
      await waitForOutput(dockerd, /API listen on/, "dockerd");
    } catch (error) {
      await dockerd.stop();
      throw error;
    }
    return {
      socketPath,
      async stop() {
        await dockerd.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  } finally {
    watcher?.close();
  }
}
