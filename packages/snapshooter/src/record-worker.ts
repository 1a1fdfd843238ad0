/**
 * The worker thread's side of record-workers.ts: takes each batch it is sent (`takeRecordBatch`) and sends the
 * results back, their bytes transferred rather than copied. Built as its own file beside the package's bundle.
 */
import { parentPort } from "node:worker_threads";
import { type RecordBatch, takeRecordBatch } from "./record-batch.js";

const port = parentPort;
if (port) {
  port.on("message", (message: { id: number; batch: RecordBatch }) => {
    try {
      const result = takeRecordBatch(message.batch);
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
