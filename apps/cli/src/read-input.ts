import { open } from "node:fs/promises";
import { CliError, ExitCode } from "./output.js";

/** Input files are text: bytes that are not UTF-8 are refused (as the server does), never replaced by U+FFFD. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

function cannotRead(path: string, what: string, reason: string, cause?: unknown): CliError {
  return new CliError(
    `cannot read the ${what} ${JSON.stringify(path)}: ${reason}; pass a readable file, or - for standard input`,
    ExitCode.badInput,
    { cause },
  );
}

/**
 * A file's bytes, or standard input's for "-", with an error that names the file and the fix. Past `maxBytes` it stops
 * reading and returns `undefined` plus the size seen, so the caller can say "too large" in its own terms.
 */
export async function readInputBytes(
  path: string,
  what: string,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<{ bytes: Buffer; size: number } | { bytes: undefined; size: number }> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length;
      if (size <= maxBytes) chunks.push(chunk as Buffer);
    }
    return size > maxBytes ? { bytes: undefined, size } : { bytes: Buffer.concat(chunks), size };
  }
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, "r");
    const { size } = await handle.stat();
    if (size > maxBytes) return { bytes: undefined, size };
    const bytes = await handle.readFile();
    return { bytes, size: bytes.length };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (code ?? String(error));
    throw cannotRead(path, what, reason, error);
  } finally {
    await handle?.close();
  }
}

/** Decodes UTF-8 strictly (a byte order mark is dropped), naming the file and the first bad byte otherwise. */
export function decodeText(bytes: Buffer, path: string, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    let valid = 0;
    // The longest prefix that decodes: where the first bad byte is, for the message.
    for (let lo = 0, hi = bytes.length; lo < hi; ) {
      const mid = (lo + hi + 1) >> 1;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
        lo = mid;
      } catch {
        hi = mid - 1;
      }
      valid = lo;
    }
    // The prefix may end inside the sequence that fails (then it does not decode whole): back up to its lead byte.
    let complete = true;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, valid));
    } catch {
      complete = false;
    }
    let start = valid;
    if (!complete) {
      while (start > 0 && start > valid - 3 && ((bytes[start - 1] as number) & 0xc0) === 0x80) start--;
      if (start > 0 && (bytes[start - 1] as number) >= 0xc0) start--;
    }
    valid = start;
    throw new CliError(
      `the ${what} ${path === "-" ? "on standard input" : JSON.stringify(path)} is not UTF-8 text (byte ${valid + 1} is not UTF-8); save it as UTF-8`,
      ExitCode.badInput,
      { cause: error, code: "NOT_UTF8" },
    );
  }
}

/** Reads a text file, or standard input for "-", with an error that names the file and the fix. */
export async function readInput(path: string, what: string): Promise<string> {
  const { bytes } = await readInputBytes(path, what);
  return decodeText(bytes as Buffer, path, what);
}
