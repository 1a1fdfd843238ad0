/**
 * GitHub's REST API for tests: a real HTTP server on loopback that records exactly what octokit sends (method,
 * path, headers, JSON body) and answers as GitHub does. Closed when the test finishes.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import { listenForTest } from "./loopback-server.js";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface Reply {
  status: number;
  body: unknown;
}

export interface GitHubServerResource {
  baseUrl: string;
  requests: RecordedRequest[];
}

let nextNumber = 41;

/** GitHub's answer to a valid "create a pull request" call (the fields clients read). */
export function createdPullRequest(request: RecordedRequest): Reply {
  const body = request.body as { title: string; head: string; base: string };
  const [, , owner, repo] = request.path.split("/");
  nextNumber += 1;
  return {
    status: 201,
    body: {
      number: nextNumber,
      state: "open",
      title: body.title,
      html_url: `https://github.com/${owner}/${repo}/pull/${nextNumber}`,
      head: { ref: body.head },
      base: { ref: body.base },
    },
  };
}

export async function gitHubServerResource(
  reply: (request: RecordedRequest) => Reply = createdPullRequest,
): Promise<GitHubServerResource> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const request: RecordedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      };
      requests.push(request);
      const answer = reply(request);
      res.writeHead(answer.status, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify(answer.body));
    });
  });
  const baseUrl = await listenForTest(server);
  return { baseUrl, requests };
}
