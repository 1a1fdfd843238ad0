/**
 * The worker thread's side of record-workers.ts: takes each batch it is sent (`takeRecordBatch`) and sends the
 * results back, their bytes transferred rather than copied. Built as its own file beside the package's bundle. zod
 * (and the schemas) are loaded only when a record needs them: a valid export never does, and the thread starts sooner.
 */
import { parentPort } from "node:worker_threads";
import { NEEDS_SCHEMA, type RecordBatch, takeRecordBatch } from "./record-batch.js";
import type { RecordSchema } from "./record-taker.js";

let schema: RecordSchema | undefined;

async function take(batch: RecordBatch) {
  if (schema) return takeRecordBatch(batch, schema);
  try {
    return takeRecordBatch(batch);
  } catch (error) {
    if (error !== NEEDS_SCHEMA) throw error;
    schema = (await import("./model.js")).exportRecordSchema;
    return takeRecordBatch(batch, schema);
  }
}

const port = parentPort;
if (port) {
  port.on("message", async (message: { id: number; batch: RecordBatch }) => {
    try {
      const result = await take(message.batch);
      port.postMessage({ id: message.id, result }, [
        result.outcomes.buffer,
        result.json.buffer,
        result.jsonEnds.buffer,
        result.tags.buffer,
        result.kinds.buffer,
        result.relationEnds.buffer,
        result.relationTags.buffer,
      ] as ArrayBuffer[]);
    } catch (error) {
      port.postMessage({
        id: message.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    }
  });
}
