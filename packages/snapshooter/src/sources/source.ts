/**
 * Where code as data comes from. Two real implementations: an export file and an HTTP endpoint serving the same
 * records. Both stream; `loadGraph` validates every record and builds the graph.
 */
import { open, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { SnapshooterError, throwIfAborted } from "../errors.js";
import { basicAuthorization, redactUrlCredentials, splitCredentials } from "../redact.js";
import { byteChunks, type RawRecord, readExportStream } from "./parse-stream.js";

/** An export's raw bytes, and its name for messages. */
export interface ExportBytes {
  label: string;
  /** Each chunk is valid until the next one is taken (a file's are read into one reused buffer). */
  chunks: AsyncIterable<Buffer>;
}

const CHUNK_SIZE = 1 << 20;

/**
 * A file's bytes in chunks read into two buffers, reused in turn: a stream's fresh megabyte per chunk made the kernel
 * hand out (and zero) 50 MB of new pages for a 50 MB export, which cost more than reading it. The next chunk is read
 * (on libuv's threads) while the caller takes the current one, which it is done with once it asks for the next:
 * read one after the other, the main thread waited ~1 ms for each megabyte (40-55 ms for a 50 MB export).
 */
async function* fileChunks(file: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  const handle = await open(file, "r");
  const buffers = [Buffer.allocUnsafeSlow(CHUNK_SIZE), Buffer.allocUnsafeSlow(CHUNK_SIZE)];
  let turn = 0;
  let reading: Promise<{ bytesRead: number }> | undefined = handle.read(buffers[0] as Buffer, 0, CHUNK_SIZE, null);
  try {
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await reading;
      reading = undefined;
      if (bytesRead === 0) return;
      const current = buffers[turn] as Buffer;
      turn ^= 1;
      reading = handle.read(buffers[turn] as Buffer, 0, CHUNK_SIZE, null);
      // Handled here too: a caller that drops the iterator without ending it must not leave an unhandled rejection.
      reading.catch(() => undefined);
      yield current.subarray(0, bytesRead);
    }
  } finally {
    // A read under way ends before the file is closed (its error, if any, no longer matters).
    await reading?.catch(() => undefined);
    await handle.close();
  }
}

export interface CodeAsDataSource {
  /** For messages; never holds a credential. */
  readonly description: string;
  /** The export's records, in batches; each record keeps where it came from for error messages. */
  batches(signal?: AbortSignal): AsyncIterable<readonly RawRecord[]>;
  /**
   * The export's bytes, when the source can give them: a snapshot then renders most records straight from their
   * bytes instead of parsing them (the file and HTTP sources do; a source without it is read through `batches`).
   */
  bytes?(signal?: AbortSignal): Promise<ExportBytes>;
}

/** An export file: a JSON array of records, or NDJSON (one record a line). */
export function fileSource(file: string): CodeAsDataSource {
  const label = path.basename(file);
  const source: CodeAsDataSource & { bytes(signal?: AbortSignal): Promise<ExportBytes> } = {
    description: file,
    async *batches(signal) {
      const { chunks } = await source.bytes(signal);
      yield* readExportStream(chunks, label);
    },
    async bytes(signal) {
      try {
        const info = await stat(file);
        if (!info.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
      } catch (error) {
        throw new SnapshooterError("SOURCE_UNAVAILABLE", `cannot read the code-as-data export ${path.resolve(file)}`, {
          problems: [{ path: file, message: (error as NodeJS.ErrnoException).code ?? String(error) }],
          cause: error,
        });
      }
      return { label, chunks: fileChunks(file, signal) };
    },
  };
  return source;
}

/** An HTTP(S) endpoint answering GET with the export, in either format. Credentials in the URL become a header. */
export function httpSource(url: string, options: { headers?: Record<string, string> } = {}): CodeAsDataSource {
  const { url: bare, credentials } = splitCredentials(url);
  const description = redactUrlCredentials(url);
  const source: CodeAsDataSource & { bytes(signal?: AbortSignal): Promise<ExportBytes> } = {
    description,
    async *batches(signal) {
      const { label, chunks } = await source.bytes(signal);
      yield* readExportStream(chunks, label);
    },
    async bytes(signal) {
      const headers: Record<string, string> = { accept: "application/x-ndjson, application/json", ...options.headers };
      if (credentials) headers.authorization = basicAuthorization(credentials);
      let response: Response;
      try {
        response = await fetch(bare, { headers, ...(signal ? { signal } : {}) });
      } catch (error) {
        if (signal?.aborted) throw new SnapshooterError("ABORTED", "the snapshot was aborted");
        const reason = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new SnapshooterError("SOURCE_UNAVAILABLE", `cannot reach the code-as-data endpoint ${description}`, {
          problems: [{ path: description, message: reason?.code ?? reason?.message ?? String(error) }],
        });
      }
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        throw new SnapshooterError(
          "SOURCE_UNAVAILABLE",
          `the code-as-data endpoint ${description} answered ${response.status}`,
          {
            problems: [{ path: description, message: `HTTP ${response.status} ${response.statusText}`.trim() }],
          },
        );
      }
      const stream = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
      return { label: new URL(bare).pathname.split("/").pop() || description, chunks: byteChunks(stream) };
    },
  };
  return source;
}

/** `http://` and `https://` addresses are endpoints; anything else is a file path. */
export function openSource(location: string): CodeAsDataSource {
  return /^https?:\/\//i.test(location) ? httpSource(location) : fileSource(location);
}
