import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { snapshooterConfigJsonSchema } from "./config.js";

const schemaFile = fileURLToPath(new URL("../schema/snapshooter-config.schema.json", import.meta.url));

describe("the published JSON Schema", () => {
  it("is the one generated from the zod schema (run `pnpm schema` to refresh it)", async () => {
    const generated = `${JSON.stringify(snapshooterConfigJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA) await writeFile(schemaFile, generated);
    expect(await readFile(schemaFile, "utf8")).toBe(generated);
  });

  it("describes seed 004's entry shape", () => {
    const schema = snapshooterConfigJsonSchema() as {
      type: string;
      items: { required: string[]; properties: Record<string, { required?: string[] }> };
    };
    expect(schema.type).toBe("array");
    expect(schema.items.required).toEqual(["snapshooter"]);
    expect(schema.items.properties.snapshooter?.required).toEqual(["name", "rootTags", "outputDir"]);
    expect(schema.items.properties.git?.required).toEqual(["repo", "branch"]);
  });
});
