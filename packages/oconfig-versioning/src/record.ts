/**
 * After promotion `next` becomes `current`; after a rollback `current` returns to the version that was
 * running before. These return the new oConfig value to write back; the caller stores it (in the cluster or
 * in the environment file).
 */
import { OConfigError } from "./errors.js";
import type { OConfigInput, VersionedOConfigInput } from "./schema.js";

/** `{ current: next, next, configs }`: the next release then sees `next == current`, no change. Legacy values are returned as they are. */
export function recordNextAsCurrent(oConfig: string, service?: string): string;
export function recordNextAsCurrent(oConfig: VersionedOConfigInput, service?: string): VersionedOConfigInput;
export function recordNextAsCurrent(oConfig: OConfigInput, service?: string): OConfigInput;
export function recordNextAsCurrent(oConfig: OConfigInput, service = "service"): OConfigInput {
  if (typeof oConfig === "string") return oConfig;
  return recordCurrent(oConfig, oConfig.next, service);
}

/**
 * Makes `version` the current one, leaving `next` as it is (after a rollback, the next release tries `next`
 * again unless the user changes it). `version` must be one of `configs`.
 */
export function recordCurrent(
  oConfig: VersionedOConfigInput,
  version: string,
  service = "service",
): VersionedOConfigInput {
  const known = oConfig.configs.flatMap((entry) => Object.keys(entry));
  if (!known.includes(version)) {
    throw new OConfigError([
      {
        code: "UNKNOWN_VERSION",
        service,
        version,
        path: ["current"],
        message: `cannot make "${version}" current: configs defines ${known.map((k) => `"${k}"`).join(", ") || "no version"}`,
      },
    ]);
  }
  return { current: version, next: oConfig.next, configs: oConfig.configs.map((entry) => ({ ...entry })) };
}
