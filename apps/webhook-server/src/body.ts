/**
 * Request bodies with a size limit. Hono's bodyLimit middleware wraps every body in a counting stream, which cut the
 * dry run's throughput by about 5× in the load benchmark; here a body with a Content-Length (what CI sends) is checked
 * by its header before anything is read, and every body is counted as it arrives. On Node the body is read from
 * Node's own request stream, not through a WHATWG stream built around it.
 */
import type { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";

const tooLarge = (limit: number) =>
  new HTTPException(413, {
    message: `the body is larger than ${limit} bytes`,
    // The rest of the body is never read, so the connection cannot be reused.
    res: new Response(JSON.stringify({ message: `the body is larger than ${limit} bytes` }), {
      status: 413,
      headers: { "Content-Type": "application/json", Connection: "close" },
    }),
  });

/**
 * A request header, from Node's own parsed headers when the app runs on Node: Hono's `c.req.header()` builds a
 * WHATWG Headers object (validating every header) for the first call of each request, which showed in the dry run's
 * profile. Repeated headers are joined as Headers would (`, `).
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming ? incomingHeader(incoming, name) : c.req.header(name);
}

/** A header of Node's request, every value joined as Headers would (`, `). */
export function incomingHeader(incoming: IncomingMessage, name: string): string | undefined {
  // Every value, from the raw list (`headers` keeps only the first Authorization of two, and `headersDistinct` builds
  // a second object of every header for each request): joined, a doubled header reads as Headers would read it, and
  // a doubled Authorization is refused, not half believed.
  const raw = incoming.rawHeaders;
  const wanted = name.toLowerCase();
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length !== wanted.length || (key !== wanted && key.toLowerCase() !== wanted)) continue;
    value = value === undefined ? (raw[i + 1] as string) : `${value}, ${raw[i + 1]}`;
  }
  return value;
}

/** Refuses a declared Content-Length (the header's value) over the limit (413) before anything is read. */
export function checkLength(length: string | undefined, limit: number): void {
  if (length !== undefined && Number(length) > limit) throw tooLarge(limit);
}

/** checkLength as middleware. */
export function limitBody(limit: number): MiddlewareHandler {
  return async (c, next) => {
    checkLength(requestHeader(c, "content-length"), limit);
    await next();
  };
}

/** The whole body, at most `limit` bytes (413 beyond). */
export async function readBody(c: Context, limit: number): Promise<Uint8Array> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && !incoming.readableDidRead) return readIncoming(incoming, limit);
  if (c.req.header("Content-Length") !== undefined) return new Uint8Array(await c.req.arrayBuffer());
  const body = c.req.raw.body;
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The whole body of Node's request, at most `limit` bytes (413 beyond). */
export function readIncoming(incoming: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    readIncomingThen(incoming, limit, (error, body) => (error ? reject(error) : resolve(body as Buffer))),
  );
}

/**
 * readIncoming with a callback, called once: with the error, or with the body. For the dry run, which answers in the
 * callback: no promise and no microtask between the body's end and the answer.
 */
export function readIncomingThen(
  incoming: IncomingMessage,
  limit: number,
  done: (error: Error | undefined, body?: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      cleanup();
      incoming.pause();
      done(tooLarge(limit));
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = () => {
    cleanup();
    done(undefined, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  };
  const onError = (error: Error) => {
    cleanup();
    done(error);
  };
  const onClose = () => {
    if (incoming.readableEnded) return;
    cleanup();
    done(new Error("the client closed the connection before the body was read"));
  };
  const cleanup = () => {
    incoming.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
  };
  incoming.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
}
