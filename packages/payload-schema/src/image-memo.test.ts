import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseImageReference } from "./image-reference.js";
import { ImageReferenceSchema } from "./schema.js";

/** The image check as it was, computed afresh on every call: the oracle for the remembered one. */
const Afresh = z.string().superRefine((value, ctx) => {
  const parsed = parseImageReference(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: "custom", message: parsed.message });
  } else if (!parsed.value.tag && !parsed.value.digest) {
    ctx.addIssue({
      code: "custom",
      message: `"${value}" has no tag or digest; pin the version you deploy, e.g. "${value}:1.2.3"`,
    });
  }
});

const answer = (result: z.ZodSafeParseResult<string>) =>
  result.success
    ? { ok: result.data }
    : result.error.issues.map(({ code, message, path }) => ({ code, message, path }));

describe("image references remembered between payloads", () => {
  it("answer exactly as a fresh check does, the first time, the second time and after the memory is cleared", () => {
    const reference = fc.oneof(
      fc.string({ unit: fc.constantFrom("a", "B", "1", "/", ":", "@", ".", "-", "_", " "), maxLength: 30 }),
      fc.constantFrom(
        "ghcr.io/o/app:1.2.3",
        "app",
        "App:1",
        `localhost:5000/x@sha256:${"a".repeat(64)}`,
        `a:${"1".repeat(600)}`,
      ),
    );
    fc.assert(
      fc.property(fc.array(reference, { minLength: 1, maxLength: 1500 }), (references) => {
        for (const r of [...references, ...references]) {
          expect(answer(ImageReferenceSchema.safeParse(r))).toEqual(answer(Afresh.safeParse(r)));
        }
      }),
      { numRuns: 30 },
    );
  });
});
