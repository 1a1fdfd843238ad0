/** Reads the upstream objects in this folder, for table tests. */
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export function argoObject<T>(file: string): T {
  return parse(readFileSync(new URL(`./argo-rollouts/${file}.yaml`, import.meta.url), "utf8")) as T;
}
