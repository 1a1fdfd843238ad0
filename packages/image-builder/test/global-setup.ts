/**
 * Starts what the image tests build and push through, once for the run: two registries on loopback (one open, one
 * with htpasswd auth), then podman's Docker API with both marked insecure and Docker Engine's (dockerd, classic
 * builder), then three small base images built FROM scratch on each (nothing can be pulled here). Fails loudly,
 * with the install hint, when podman or dockerd is missing.
 */
import Docker from "dockerode";
import { pack } from "tar-stream";
import type { TestProject } from "vitest/node";
import { type EngineResource, startDockerd, startPodman } from "./engine-resource.js";
import { type RegistryResource, startRegistry } from "./registry-resource.js";

export const TEST_USER = { name: "rollway-ci", password: "s3cret-Pa55" };
export const BASE_IMAGES = {
  frontend: "localhost/rollway-test/frontend-base:1",
  backend: "localhost/rollway-test/backend-base:1",
  codeAsData: "localhost/rollway-test/codeasdata-base:1",
} as const;

declare module "vitest" {
  export interface ProvidedContext {
    podmanSocket: string;
    dockerSocket: string;
    registry: string;
    authRegistry: string;
  }
}

let started: (EngineResource | RegistryResource)[] = [];

export async function setup(project: TestProject): Promise<void> {
  // Benchmarks pack build contexts only: no engine to start.
  if (project.vitest.mode === "benchmark") return;
  try {
    const registry = await startRegistry();
    started.push(registry);
    const authRegistry = await startRegistry({ user: TEST_USER });
    started.push(authRegistry);
    const podman = await startPodman({ insecureRegistries: [registry.host, authRegistry.host] });
    started.push(podman);
    await buildBaseImages(new Docker({ socketPath: podman.socketPath }));
    const dockerd = await startDockerd();
    started.push(dockerd);
    await buildBaseImages(new Docker({ socketPath: dockerd.socketPath }));
    project.provide("podmanSocket", podman.socketPath);
    project.provide("dockerSocket", dockerd.socketPath);
    project.provide("registry", registry.host);
    project.provide("authRegistry", authRegistry.host);
  } catch (error) {
    await teardown();
    throw error;
  }
}

export async function teardown(): Promise<void> {
  const toStop = started.reverse();
  started = [];
  for (const resource of toStop) await resource.stop();
}

/** Base images with just what the built-in Dockerfiles need: users and groups for `COPY --chown`, root's home. */
async function buildBaseImages(docker: Docker): Promise<void> {
  for (const [kind, tag] of Object.entries(BASE_IMAGES)) {
    const tar = pack();
    tar.entry(
      { name: "Dockerfile" },
      `FROM scratch\nCOPY passwd /etc/passwd\nCOPY group /etc/group\nCOPY root /root\nLABEL kind=${kind}\n`,
    );
    tar.entry({ name: "root", type: "directory", mode: 0o700 });
    tar.entry(
      { name: "passwd" },
      "root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/nonexistent:/bin/false\nnode:x:1000:1000::/home/node:/bin/sh\n",
    );
    tar.entry({ name: "group" }, "root:x:0:\nnginx:x:101:\nnode:x:1000:\n");
    tar.finalize();
    const stream = await docker.buildImage(tar as unknown as NodeJS.ReadableStream, { t: tag });
    const messages = await new Promise<{ error?: string }[]>((resolve, reject) =>
      docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out))),
    );
    const failed = messages.find((m) => m.error);
    if (failed) throw new Error(`cannot build test base image ${tag}: ${failed.error}`);
  }
}
