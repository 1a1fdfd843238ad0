import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deployPayloadJsonSchema } from "./json-schema.js";

const file = new URL("../schema/deploy-payload.schema.json", import.meta.url);

describe("the committed JSON Schema", () => {
  it("matches what zod generates from the schema (run `pnpm schema` to update it)", () => {
    const generated = `${JSON.stringify(deployPayloadJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA) writeFileSync(file, generated);
    expect(readFileSync(file, "utf8")).toBe(generated);
  });

  it("describes every key of the seed's table", () => {
    const schema = deployPayloadJsonSchema() as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
    };
    expect(Object.keys(schema.properties)).toEqual([
      "backends",
      "codeAsData",
      "frontend",
      "noDowntime",
      "skipUpdateVersions",
      "extraArgs",
    ]);
    expect(Object.keys(schema.properties.backends?.properties ?? {})).toEqual(["images", "deployRules"]);
    expect(Object.keys(schema.properties.noDowntime?.properties ?? {})).toEqual(["promotionMode"]);
  });
});
