/**
 * Disposable test resources (after trpc's `*Resource` helpers): each registers its own cleanup with vitest's
 * `onTestFinished`, so every temp dir, server and child process a test starts is gone when it ends.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { onTestFinished } from "vitest";

const exec = promisify(execFile);

export const TEST_AUTHOR = {
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.invalid",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.invalid",
};

export async function useTempDir(prefix = "snapshooter-"): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs git in `cwd` (test side only: the package itself goes through simple-git). */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec("git", args, {
    cwd,
    env: { ...process.env, ...TEST_AUTHOR, GIT_TERMINAL_PROMPT: "0" },
  });
  return stdout;
}

export interface BareRemote {
  /** The bare repository (a path git accepts as a remote). */
  bare: string;
  /** A clone with a committed README on `branch`, to play the other developer. */
  clone: string;
  branch: string;
}

/** A local bare repo as the remote, with one commit on `branch`, and a working clone of it. */
export async function useBareRemote(branch = "master"): Promise<BareRemote> {
  const dir = await useTempDir("snapshooter-git-");
  const bare = path.join(dir, "remote.git");
  const clone = path.join(dir, "other");
  await git(dir, "init", "--quiet", "--bare", `--initial-branch=${branch}`, bare);
  await git(dir, "clone", "--quiet", bare, clone);
  await git(clone, "checkout", "--quiet", "-B", branch);
  await writeFile(path.join(clone, "README.md"), "# app\n");
  await git(clone, "add", "README.md");
  await git(clone, "commit", "--quiet", "-m", "initial");
  await git(clone, "push", "--quiet", "origin", `HEAD:refs/heads/${branch}`);
  return { bare, clone, branch };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** An HTTP endpoint on loopback answering GET `/export` with `body` (a string, or a function streaming to the response). */
export async function useHttpExport(
  body: string | ((res: ServerResponse) => void),
  options: { status?: number; contentType?: string } = {},
): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    if (req.url !== "/export") {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(options.status ?? 200, { "content-type": options.contentType ?? "application/x-ndjson" });
    if (typeof body === "string") res.end(body);
    else body(res);
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/export`, requests };
}

/**
 * A git smart-HTTP server on loopback: `git http-backend` as CGI behind Basic auth. Pushes are allowed to the
 * authenticated user only, as on a real host. `url` embeds `user:token` the way seed 004's config does.
 */
export async function useGitHttpServer(
  projectRoot: string,
  credentials: { user: string; token: string },
): Promise<{ baseUrl: string; urlWithToken: (repo: string) => string; urlWithWrongToken: (repo: string) => string }> {
  const expected = `Basic ${Buffer.from(`${credentials.user}:${credentials.token}`).toString("base64")}`;
  const server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="git"' }).end("unauthorized\n");
      return;
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const child = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH ?? "",
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: "1",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ""),
        REQUEST_METHOD: req.method ?? "GET",
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_USER: credentials.user,
        REMOTE_ADDR: "127.0.0.1",
        ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) } : {}),
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
      },
    });
    // http-backend may exit without reading its input (a GET has none, a refused request): its answer is on stdout
    // either way, and the pipe's EPIPE must not surface as an unhandled error of the test run.
    child.stdin.on("error", () => undefined);
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    child.stdout.on("end", () => res.end());
    child.on("error", () => res.destroy());
  });
  const port = await listen(server);
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    urlWithToken: (repo) => `http://${credentials.user}:${credentials.token}@127.0.0.1:${port}/${repo}`,
    urlWithWrongToken: (repo) => `http://${credentials.user}:wrong-${credentials.token}@127.0.0.1:${port}/${repo}`,
  };
}
