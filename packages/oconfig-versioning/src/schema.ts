/**
 * The shapes of a service's `oConfig` as users write it (seed 000): a single JSON string (legacy) or
 * `{ current, next, configs: [{ v1: "<json>" }, ...] }`. These zod schemas are the source of truth; the
 * environment file of @rollway/release embeds them, so its JSON Schema describes oConfig too.
 */
import { z } from "zod";
import { isSingleVersionEntry } from "./quick-check.js";

/** A version name ends up as a label value (`rollway.dev/oconfig-version`), so it follows label value rules. */
export const VERSION_NAME_PATTERN = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export const versionNameSchema = z
  .string()
  .max(63, "a version name has at most 63 characters")
  .regex(
    VERSION_NAME_PATTERN,
    "a version name uses letters, digits, '-', '_' and '.', and starts and ends alphanumeric",
  )
  .meta({ description: "A config version name such as `v1`." });

/** One entry of `configs`: a single-key map from a version name to that version's JSON text. */
export const configEntrySchema = z
  .record(versionNameSchema, z.string({ error: "a config is JSON text: write `v1: |` and the JSON on the next lines" }))
  .refine(isSingleVersionEntry, {
    error: "each entry of configs is a single-key map such as `- v1: |` followed by the JSON text",
  })
  .meta({ minProperties: 1, maxProperties: 1 });

export const versionedOConfigSchema = z
  .strictObject({
    current: versionNameSchema.meta({ description: "The version the running pods use." }),
    next: versionNameSchema.meta({
      description: "The version the next release deploys. Equal to `current`: no configuration change.",
    }),
    configs: z
      .array(configEntrySchema)
      .min(1, "configs lists at least the current and next versions")
      .meta({ description: "Every known version, each as `- <name>: |` followed by its JSON text." }),
  })
  .meta({ description: "Versioned service configuration (seed 000): current, next and the known versions." });

export const legacyOConfigSchema = z
  .string()
  .meta({ description: "The legacy form: the whole configuration as one JSON string." });

export const oConfigSchema = z
  .union([legacyOConfigSchema, versionedOConfigSchema], {
    error: "oConfig is either a JSON string or an object with current, next and configs",
  })
  .meta({ description: "A service's configuration: a JSON string (legacy) or { current, next, configs }." });

export type VersionedOConfigInput = z.infer<typeof versionedOConfigSchema>;
export type OConfigInput = z.infer<typeof oConfigSchema>;
