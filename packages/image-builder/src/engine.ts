/**
 * What goes over the wire to the Docker Engine API (docker, or podman's `podman system service`), through dockerode:
 * `POST /build`, `POST /images/{name}/push`, `GET /_ping`. Each call reads the engine's JSON message stream and
 * turns an error message in it into an ImageBuildError with the failing step.
 */
import type { Readable } from "node:stream";
import Docker from "dockerode";
import type { RegistryAuth } from "./credentials.js";
import { lineOfStep } from "./dockerfile-lines.js";
import { type FailedStep, imageBuildError } from "./errors.js";
import { BuildStreamReader, type EngineMessage, engineMessages, PushStreamReader } from "./stream.js";

/** How to reach the engine: a dockerode instance, its options, or nothing for `DOCKER_HOST` / the default socket. */
/** Query options of every `POST /build`: remove intermediate containers, even after a failed build. */
export const BUILD_QUERY = { rm: true, forcerm: true } as const;

export type EngineConnection = Docker | Docker.DockerOptions | undefined;

export function connectEngine(connection: EngineConnection): Docker {
  // Duck-typed: an instance from another copy of dockerode (the caller's) fails `instanceof`.
  if (connection && typeof (connection as Docker).buildImage === "function") return connection as Docker;
  return new Docker(connection as Docker.DockerOptions | undefined);
}

export async function pingEngine(docker: Docker, signal?: AbortSignal): Promise<void> {
  try {
    await (docker as unknown as { ping(options: { abortSignal?: AbortSignal }): Promise<unknown> }).ping({
      abortSignal: signal,
    } as { abortSignal?: AbortSignal });
  } catch (error) {
    throwIfAborted(signal, error);
    const where = describeEngine(docker);
    throw imageBuildError(
      "ENGINE_UNREACHABLE",
      where,
      `no Docker Engine API answers (${(error as Error).message}); start docker, or podman with ` +
        "`podman system service --time=0 unix:///run/podman/podman.sock`, and set DOCKER_HOST to its socket",
      { cause: error },
    );
  }
}

export interface BuildRequest {
  context: Readable;
  /** The Dockerfile as the person knows it (the project's path, or the built-in one's), for errors. */
  dockerfile: string;
  /** Path of the Dockerfile the engine builds inside the context, when not `dockerfile` (one with labels added). */
  contextDockerfile?: string | undefined;
  tags: readonly string[];
  buildArgs: Record<string, string>;
  /** Labels for the build API's `labels` parameter, when the Dockerfile sent does not set them itself. */
  labels?: Record<string, string> | undefined;
  /** Repository, for errors and progress. */
  image: string;
  /** The Dockerfile's text, to name the failing step's line. */
  dockerfileText?: string | undefined;
  /** A project Dockerfile given the small context: a missing file then gets a hint. */
  smallContext?: boolean | undefined;
  onLine: (line: string) => void;
  signal?: AbortSignal | undefined;
}

/** `POST /build`; returns the image ID. */
export async function buildOnEngine(docker: Docker, request: BuildRequest): Promise<string> {
  const reader = new BuildStreamReader();
  try {
    const stream = await docker.buildImage(request.context, {
      t: [...request.tags],
      dockerfile: request.contextDockerfile ?? request.dockerfile,
      buildargs: request.buildArgs,
      ...(request.labels && Object.keys(request.labels).length > 0 ? { labels: request.labels } : {}),
      ...BUILD_QUERY,
      abortSignal: request.signal,
    } as unknown as Docker.ImageBuildOptions);
    for await (const message of engineMessages(stream)) {
      for (const line of reader.read(message)) request.onLine(line);
    }
  } catch (error) {
    throwIfAborted(request.signal, error);
    throw imageBuildError("BUILD_FAILED", request.image, `the engine refused the build: ${engineErrorText(error)}`, {
      cause: error,
      image: request.image,
    });
  }
  if (reader.error !== undefined) {
    const hint =
      request.smallContext && /no such file|not found|does not exist/i.test(reader.error)
        ? '\n  hint: the build context is the small one (the build folder and the Dockerfile\'s folder); send the whole project (context: "project", rollway build --context project) or add the path to contextPaths'
        : "";
    let step = reader.step;
    if (step && reader.style && request.dockerfileText !== undefined) {
      const line = lineOfStep(request.dockerfileText, { number: step.number, style: reader.style, stage: step.stage });
      if (line !== undefined) step = { ...step, dockerfile: request.dockerfile, line };
    }
    throw buildFailed(request.image, `${reader.error}${hint}`, step, reader.lines);
  }
  if (!reader.imageId) {
    throw imageBuildError("BUILD_FAILED", request.image, "the engine ended the build without an image ID", {
      image: request.image,
    });
  }
  return reader.imageId;
}

function buildFailed(image: string, error: string, step: FailedStep | undefined, lines: string[]) {
  const at = !step
    ? ""
    : step.line !== undefined
      ? ` at ${step.dockerfile} line ${step.line} (${step.instruction})`
      : ` at step ${step.number}/${step.total} (${step.instruction})`;
  const tail = lines.slice(-5).map((l) => `    ${l}`);
  return imageBuildError(
    "BUILD_FAILED",
    image,
    `build failed${at}: ${error}${tail.length > 0 ? `\n  last output:\n${tail.join("\n")}` : ""}`,
    { step, image },
  );
}

export interface PushRequest {
  repository: string;
  tag: string;
  auth: RegistryAuth | undefined;
  /** References already pushed in this run, named in the error if this push fails. */
  moved?: readonly string[] | undefined;
  onStatus: (message: EngineMessage) => void;
  signal?: AbortSignal | undefined;
}

/** `POST /images/{repository}/push?tag=…`; returns the digest the registry stored. */
export async function pushOnEngine(docker: Docker, request: PushRequest): Promise<string | undefined> {
  const reference = `${request.repository}:${request.tag}`;
  const reader = new PushStreamReader();
  try {
    const stream = await docker.getImage(request.repository).push({
      tag: request.tag,
      // The engine wants the header even for anonymous pushes.
      authconfig: request.auth ?? {},
      abortSignal: request.signal,
    } as Parameters<Docker.Image["push"]>[0]);
    for await (const message of engineMessages(stream as unknown as Readable)) {
      reader.read(message);
      request.onStatus(message);
    }
  } catch (error) {
    throwIfAborted(request.signal, error, request.moved);
    throw pushFailed(reference, engineErrorText(error), request.auth, request.moved ?? [], error);
  }
  if (reader.error !== undefined) throw pushFailed(reference, reader.error, request.auth, request.moved ?? []);
  return reader.digest;
}

export function pushFailed(
  reference: string,
  text: string,
  auth: RegistryAuth | undefined,
  moved: readonly string[],
  cause?: unknown,
) {
  const registry = reference.split("/")[0];
  const options = { cause, image: reference, pushed: [...moved] };
  // Whole words only: an engine's message carries digests, whose hex can hold "401" by chance (CI saw it).
  if (/\b(unauthorized|authentication required|denied|401)\b/i.test(text)) {
    const hint = auth
      ? `the registry refused the credentials used for ${auth.serveraddress}; check them (docker login ${auth.serveraddress})`
      : `no credentials were found for ${registry}; run docker login or pass credentials`;
    return imageBuildError("AUTH_FAILED", reference, `push refused: ${text}. ${hint}${describeMoved(moved)}`, options);
  }
  return imageBuildError("PUSH_FAILED", reference, `push failed: ${text}${describeMoved(moved)}`, options);
}

/** What a push failing part-way leaves in the registries, for the person who has to decide what to do. */
export function describeMoved(moved: readonly string[]): string {
  return moved.length === 0
    ? "; nothing was pushed"
    : `; pushed before this failure (these tags now point at this build): ${moved.join(", ")}`;
}

function engineErrorText(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json;
  return (json?.message ?? (error as Error).message ?? String(error)).trim();
}

export function throwIfAborted(signal: AbortSignal | undefined, cause?: unknown, moved?: readonly string[]): void {
  if (signal?.aborted) {
    const what = moved === undefined ? "" : describeMoved(moved);
    throw imageBuildError("ABORTED", "signal", `the build was cancelled${what}`, {
      cause: cause ?? signal.reason,
      pushed: moved === undefined ? [] : [...moved],
    });
  }
}

function describeEngine(docker: Docker): string {
  const modem = docker.modem as { socketPath?: unknown; host?: unknown; port?: unknown };
  if (typeof modem.socketPath === "string") return `unix://${modem.socketPath}`;
  if (typeof modem.host === "string") return `${modem.host}:${String(modem.port ?? "")}`;
  return "DOCKER_HOST";
}
