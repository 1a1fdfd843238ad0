/**
 * Reading the Docker Engine API's JSON message streams (build and push): which step is running, what failed, the
 * image ID and the pushed digest. Docker's classic builder writes `Step 2/3 : COPY …`, podman (buildah) `STEP 2/3: COPY …`.
 */
import type { FailedStep } from "./errors.js";

/** One message of the engine's stream, as the API documents it (`JSONMessage`). */
export interface EngineMessage {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

const STEP_LINE = /^(?:\[(\d+)\/\d+\] )?(step) (\d+)\/(\d+) ?: ?(.*)$/i;
const PUSHED_DIGEST = /digest: (sha256:[0-9a-f]{64})/;

export class BuildStreamReader {
  step: FailedStep | undefined;
  /** Docker's classic builder writes `Step`, buildah `STEP`: they number steps differently. */
  style: "docker" | "buildah" | undefined;
  imageId: string | undefined;
  error: string | undefined;
  /** Lines of build output, for progress and for the tail quoted in an error. */
  readonly lines: string[] = [];

  /** Reads one message and returns the output lines it carried. */
  read(message: EngineMessage): string[] {
    if (message.error !== undefined || message.errorDetail?.message !== undefined) {
      this.error = (message.errorDetail?.message ?? message.error ?? "").trim();
      return [];
    }
    if (message.aux?.ID) this.imageId = message.aux.ID;
    const text = message.stream ?? message.status ?? "";
    const lines = text.split("\n").filter((line) => line.trim() !== "");
    for (const line of lines) {
      const match = STEP_LINE.exec(line.trim());
      if (match) {
        this.step = {
          number: Number(match[3]),
          total: Number(match[4]),
          instruction: (match[5] as string).trim(),
          ...(match[1] ? { stage: Number(match[1]) } : {}),
        };
        this.style = match[2] === "STEP" ? "buildah" : "docker";
      }
      this.lines.push(line);
    }
    return lines;
  }
}

export class PushStreamReader {
  digest: string | undefined;
  error: string | undefined;

  read(message: EngineMessage): void {
    if (message.error !== undefined || message.errorDetail?.message !== undefined) {
      this.error = (message.errorDetail?.message ?? message.error ?? "").trim();
      return;
    }
    if (message.aux?.Digest) this.digest = message.aux.Digest;
    const match = PUSHED_DIGEST.exec(message.status ?? "");
    if (match) this.digest = match[1];
  }
}

/** Splits a byte stream of concatenated or newline-separated JSON messages, as the engine sends them. */
export async function* engineMessages(stream: AsyncIterable<Buffer | string>): AsyncGenerator<EngineMessage> {
  let buffered = "";
  for await (const chunk of stream) {
    buffered += chunk.toString();
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line !== "") yield parseMessage(line);
      newline = buffered.indexOf("\n");
    }
  }
  if (buffered.trim() !== "") yield parseMessage(buffered.trim());
}

function parseMessage(line: string): EngineMessage {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === "object" && parsed !== null) return parsed as EngineMessage;
  } catch {
    // Not JSON: an engine or proxy that answers in plain text; show it as output.
  }
  return { stream: `${line}\n` };
}
