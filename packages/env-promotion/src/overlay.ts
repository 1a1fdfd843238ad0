/** Finds an environment's kustomization file in the repository at a given commit. */
import { PromotionError } from "./errors.js";
import type { GitRepo } from "./git.js";

// The three names kustomize itself accepts, in its order of preference.
export const KUSTOMIZATION_FILE_NAMES = ["kustomization.yaml", "kustomization.yml", "Kustomization"] as const;

export interface OverlayFile {
  path: string;
  text: string;
}

export async function findOverlay(
  repo: GitRepo,
  commit: string,
  overlaysDir: string,
  env: string,
): Promise<OverlayFile> {
  const dir = `${overlaysDir.replace(/\/+$/, "")}/${env}`;
  for (const name of KUSTOMIZATION_FILE_NAMES) {
    const path = `${dir}/${name}`;
    const text = await repo.run(["show", `${commit}:${path}`]).catch(() => undefined);
    if (text !== undefined) return { path, text };
  }
  const files = (await repo.run(["ls-tree", "--name-only", commit, "--", `${dir}/`])).split("\n").filter(Boolean);
  const overlays = (await repo.run(["ls-tree", "-d", "--name-only", commit, "--", `${overlaysDir}/`]))
    .split("\n")
    .filter(Boolean)
    .map((d) => d.slice(overlaysDir.length + 1));
  const found = overlays.length
    ? `${overlaysDir}/ holds ${overlays.join(", ")}`
    : `there is no ${overlaysDir}/ folder with overlays`;
  throw new PromotionError(
    "OVERLAY_NOT_FOUND",
    `No overlay for "${env}" at ${commit.slice(0, 12)}: ${dir}/kustomization.yaml does not exist (${found}).`,
    files.length
      ? `add a kustomization.yaml to ${dir}/.`
      : `pass the environment's folder name, or overlaysDir: the folder that holds the overlays.`,
    { path: `${dir}/kustomization.yaml`, commit },
  );
}
