import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EXAMPLE_PAYLOAD_TEXT } from "./examples.js";
import { parseDeployPayload } from "./parse.js";
import { quickDeployPayload } from "./quick-check.js";
import { DeployPayloadSchema } from "./schema.js";

/** Mostly valid values, sometimes not: a payload then has a problem or two at most, often none. */
const mostly = (valid: unknown[], invalid: unknown[]) =>
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: fc.constantFrom(...invalid) });
// Values around each field's rules: valid, invalid, wrong type, null.
const image = mostly(
  [
    "reg.example.com/web:1.0.0",
    "my-registry/image-for-backend-1:tag",
    `ghcr.io/acme/api@sha256:${"a".repeat(64)}`,
    "localhost:5000/x:1",
  ],
  ["no-tag", "UPPER/case:1", "", "a b:1", 42, null],
);
const pattern = mostly(["^web$", ".*", "backend-.*", "my-registry/.*"], ["(", 7, null]);
const mode = mostly(["auto", "manual"], ["AUTO", 1, null]);
const extraArg = mostly(["--force-sync"], ["--forcesync", "", 3]);
/** An object from its fields, each present or not, now and then with a key the schema does not know. */
const objectOf = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc
    .tuple(
      fc.record(fields, { requiredKeys: [] }),
      fc.oneof(
        { weight: 12, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom("extra", "__proto__") },
      ),
    )
    .map(([value, extra]) => ({ value, extra }));
const rule = fc.oneof(
  { weight: 8, arbitrary: objectOf({ source: pattern, target: pattern }) },
  { weight: 1, arbitrary: fc.constant({ value: "not a rule", extra: undefined }) },
);
const list = <T>(item: fc.Arbitrary<T>, minLength = 0) => fc.array(item, { minLength, maxLength: 3 });
const payload = objectOf({
  backends: fc.oneof(
    {
      weight: 8,
      arbitrary: objectOf({
        images: fc.oneof(
          { weight: 6, arbitrary: list(image, 1) },
          { weight: 1, arbitrary: fc.oneof(list(image), image) },
        ),
        deployRules: fc.oneof({ weight: 6, arbitrary: list(rule, 1) }, { weight: 1, arbitrary: list(rule) }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom({ value: null, extra: undefined }, { value: { images: [] }, extra: undefined }),
    },
  ),
  codeAsData: objectOf({ image, updateMode: mode }),
  frontend: fc.oneof(
    { weight: 8, arbitrary: objectOf({ image }) },
    { weight: 1, arbitrary: fc.constant({ value: [], extra: undefined }) },
  ),
  noDowntime: objectOf({ promotionMode: mode }),
  skipUpdateVersions: mostly([true, false], ["true", null]),
  extraArgs: fc.oneof({ weight: 6, arbitrary: list(extraArg) }, { weight: 1, arbitrary: extraArg }),
});

type Shaped = { value: unknown; extra: string | undefined };
/** The JSON text of a generated value (an extra key written into the text, so `__proto__` is a plain key). */
function textOf(node: unknown): string {
  if (Array.isArray(node)) return `[${node.map(textOf).join(",")}]`;
  if (node !== null && typeof node === "object" && "value" in node && "extra" in node) {
    const { value, extra } = node as Shaped;
    if (value === null || typeof value !== "object" || Array.isArray(value)) return textOf(value);
    const members = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${textOf(v)}`);
    if (extra) members.push(`${JSON.stringify(extra)}:1`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(node);
}

describe("the deploy payload's check without zod", () => {
  it("accepts exactly what zod accepts from JSON, and gives what zod gives, key order included (property)", () => {
    let accepted = 0;
    fc.assert(
      fc.property(payload, (generated) => {
        const value: unknown = JSON.parse(textOf(generated));
        const quick = quickDeployPayload(value);
        const zod = DeployPayloadSchema.safeParse(value);
        expect(quick !== undefined).toBe(zod.success);
        if (quick === undefined || !zod.success) return;
        accepted++;
        expect(JSON.stringify(quick)).toBe(JSON.stringify(zod.data));
        expect(quick).toEqual(zod.data);
        // Its own arrays, as zod's: changing the payload never changes the value it came from.
        const given = value as { extraArgs?: unknown; backends?: { images?: unknown } };
        if (given.extraArgs) expect(quick.extraArgs).not.toBe(given.extraArgs);
        if (given.backends?.images) expect(quick.backends?.images).not.toBe(given.backends.images);
      }),
      { numRuns: 3000 },
    );
    // Enough valid payloads among the random ones for the comparison to mean something.
    expect(accepted).toBeGreaterThan(100);
  });

  it("takes the seed's example, and parseDeployPayload gives the same payload as zod for it", () => {
    const value: unknown = JSON.parse(EXAMPLE_PAYLOAD_TEXT);
    const quick = quickDeployPayload(value);
    expect(quick).toBeDefined();
    expect(JSON.stringify(parseDeployPayload(EXAMPLE_PAYLOAD_TEXT))).toBe(
      JSON.stringify(DeployPayloadSchema.parse(value)),
    );
  });
});
