/**
 * Debian's `docker-registry` (distribution 2.x) on a free loopback port, storing in a temp folder, optionally with
 * htpasswd auth. `registry.stop()` ends it and removes its files.
 */
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { startInTempDir, waitForOutput } from "./process.js";

export const INSTALL_HINT =
  "install it with `apt-get install podman docker-registry` (CI runs scripts/ci/setup-podman.sh, which does)";
const REGISTRY_BINARY = "/usr/bin/docker-registry";

export interface RegistryResource {
  /** `127.0.0.1:PORT`: the host part of image names. */
  host: string;
  stop(): Promise<void>;
}

export async function startRegistry(
  options: { user?: { name: string; password: string } } = {},
): Promise<RegistryResource> {
  let host = "";
  const { stop } = await startInTempDir("rollway-registry-", async (dir) => {
    host = `127.0.0.1:${await freePort()}`;
    const auth = options.user
      ? `auth:\n  htpasswd:\n    realm: rollway-test\n    path: ${join(dir, "htpasswd")}\n`
      : "";
    if (options.user) {
      await writeFile(join(dir, "htpasswd"), `${options.user.name}:${bcrypt.hashSync(options.user.password, 4)}\n`);
    }
    await writeFile(
      join(dir, "config.yml"),
      `version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\nhttp:\n  addr: ${host}\n  secret: rollway-test\n${auth}`,
    );
    return {
      command: REGISTRY_BINARY,
      args: ["serve", join(dir, "config.yml")],
      installHint: INSTALL_HINT,
      ready: (registry) => waitForOutput(registry, /listening on/, `docker-registry on ${host}`),
    };
  });
  return { host, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
