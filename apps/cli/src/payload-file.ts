/** A deploy payload read from a file or standard input: size, UTF-8 and JSON checked, errors naming the file. */
import { type DeployPayload, MAX_PAYLOAD_BYTES, PayloadError, parseDeployPayload } from "@rollway/payload-schema";
import { decodeText, readInputBytes } from "./read-input.js";

const nameOf = (path: string) => (path === "-" ? "standard input" : path);

export async function readPayloadText(path: string): Promise<string> {
  const read = await readInputBytes(path, "payload file", MAX_PAYLOAD_BYTES);
  if (read.bytes === undefined) {
    const error = new PayloadError("TOO_LARGE", [
      { path: "(payload)", message: `${read.size} bytes; a deploy payload may be at most ${MAX_PAYLOAD_BYTES} bytes` },
    ]);
    throw named(error, path);
  }
  return decodeText(read.bytes, path, "payload file");
}

/** The PayloadError, its message starting with the file it came from (its code and problems unchanged). */
function named(error: PayloadError, path: string): PayloadError {
  error.message = `${nameOf(path)}: ${error.message}`;
  Object.assign(error, { file: nameOf(path) });
  return error;
}

export function parsePayloadText(text: string, path: string): DeployPayload {
  try {
    return parseDeployPayload(text);
  } catch (error) {
    if (error instanceof PayloadError) throw named(error, path);
    throw error;
  }
}

export async function readPayloadFile(path: string): Promise<{ text: string; payload: DeployPayload }> {
  const text = await readPayloadText(path);
  return { text, payload: parsePayloadText(text, path) };
}
