/** JSON patch (RFC 6902), applied with fast-json-patch; a failed `test` or a bad path is the client's error. */
import fastJsonPatch from "fast-json-patch";

const { applyPatch, JsonPatchError } = fastJsonPatch;

export class PatchError extends Error {
  override readonly name = "PatchError";
}

export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new PatchError("a JSON patch must be a list of operations");
  try {
    return applyPatch(structuredClone(target), patch, true, false).newDocument;
  } catch (error) {
    if (error instanceof JsonPatchError) {
      const op = error.operation as { op?: string; path?: string } | undefined;
      throw new PatchError(
        `the JSON patch's operation ${error.index ?? 0} (${op?.op ?? "?"} ${op?.path ?? "?"}) cannot be applied: ${error.name === "TEST_OPERATION_FAILED" ? "test failed" : error.message.split("\n")[0]}`,
      );
    }
    throw error;
  }
}
