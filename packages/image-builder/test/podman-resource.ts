/**
 * `podman system service` as a Docker Engine API on a unix socket of its own, with all its state (vfs storage, run
 * and tmp folders, registries.conf marking the test registries insecure) in a temp folder. `stop()` ends it and
 * removes everything.
 */
import { type FSWatcher, watch } from "node:fs";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProcess, waitForOutput } from "./process.js";
import { INSTALL_HINT } from "./registry-resource.js";

export interface PodmanResource {
  socketPath: string;
  stop(): Promise<void>;
}

export async function startPodman(options: { insecureRegistries: string[] }): Promise<PodmanResource> {
  const dir = await mkdtemp(join(tmpdir(), "rollway-podman-"));
  const socketPath = join(dir, "podman.sock");
  const registriesConf = join(dir, "registries.conf");
  await mkdir(join(dir, "tmp"));
  await writeFile(
    registriesConf,
    `unqualified-search-registries = []\n${options.insecureRegistries
      .map((host) => `[[registry]]\nlocation = "${host}"\ninsecure = true\n`)
      .join("")}`,
  );
  const args = [
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
  ];
  let watcher: FSWatcher | undefined;
  const socketCreated = new Promise<void>((resolve) => {
    watcher = watch(dir, () => {
      access(socketPath).then(resolve, () => {});
    });
  });
  try {
    const podman = await startProcess("podman", args, {
      env: { ...process.env, CONTAINERS_REGISTRIES_CONF: registriesConf, TMPDIR: join(dir, "tmp") },
      installHint: INSTALL_HINT,
    });
    try {
      // Ready when the socket appears; an exit before that is an error with podman's output.
      await Promise.race([socketCreated, waitForOutput(podman, /(?!)/, "podman system service")]);
    } catch (error) {
      await podman.stop();
      throw error;
    }
    return {
      socketPath,
      async stop() {
        await podman.stop();
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
