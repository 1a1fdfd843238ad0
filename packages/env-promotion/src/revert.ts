/**
 * Rollback (seed 003, "revert the PR"): a `git revert` of a promotion commit, delivered like a promotion. Needs no
 * QA approval: it returns the environment to what it ran before.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  claimBranch,
  deliverChange,
  type ImageRow,
  imageLines,
  type PromotionResult,
  proposeBranch,
} from "./deliver.js";
import { PromotionError } from "./errors.js";
import { addWorktree, checkRepo, fetchBase, type GitRepo, openRepo } from "./git.js";
import { formatImageReference, type OverlayImage, readTargetImages } from "./kustomization.js";
import { parseOptions, type RevertOptions, revertOptionsSchema } from "./options.js";
import { findOverlay } from "./overlay.js";
import { gitHubTarget, PROMOTION_TRAILER } from "./promote.js";

export const REVERT_TRAILER = "Rollway-Revert-Of";

interface PromotionCommit {
  commit: string;
  subject: string;
  from: string;
}

async function trailers(repo: GitRepo, commit: string): Promise<{ subject: string; promotion?: string }> {
  const out = await repo.run(["log", "-1", `--format=%s%x00%(trailers:key=${PROMOTION_TRAILER},valueonly)`, commit]);
  const [subject = "", promotion = ""] = out.split("\0");
  return { subject, ...(promotion.trim() ? { promotion: promotion.trim() } : {}) };
}

function parsePromotion(value: string | undefined): { from: string; to: string } | undefined {
  const match = value ? /^(\S+) -> (\S+)$/.exec(value) : null;
  return match?.[1] && match[2] ? { from: match[1], to: match[2] } : undefined;
}

async function findPromotion(
  repo: GitRepo,
  tip: string,
  to: string,
  base: string,
  requested: string | undefined,
): Promise<PromotionCommit> {
  if (requested) {
    const commit = (
      await repo.run(["rev-parse", "--verify", `${requested}^{commit}`], {
        code: "PROMOTION_NOT_FOUND",
        problem: `There is no commit "${requested}" in the repository.`,
        hint: `pass commit: the promotion commit to revert (git log --grep=${PROMOTION_TRAILER} ${base}).`,
        details: { commit: requested },
      })
    ).trim();
    const onBase = await repo
      .run(["merge-base", "--is-ancestor", commit, tip])
      .then(() => true)
      .catch(() => false);
    const info = await trailers(repo, commit);
    const promotion = parsePromotion(info.promotion);
    if (!onBase || !promotion || promotion.to !== to) {
      throw new PromotionError(
        "PROMOTION_NOT_FOUND",
        `${commit.slice(0, 12)} ("${info.subject}") is not a promotion into ${to} on ${base}${
          onBase ? "" : ` (it is not on ${base})`
        }.`,
        `pass the commit of a promotion into ${to} that was merged into ${base}, or revert by hand with git revert.`,
        { commit },
      );
    }
    return { commit, subject: info.subject, from: promotion.from };
  }
  const log = await repo.run([
    "log",
    "--no-merges",
    "--extended-regexp",
    `--grep=^(${PROMOTION_TRAILER}: [a-z0-9_-]+ -> ${to}|${REVERT_TRAILER}: [0-9a-f]+)$`,
    `--format=%H%x00%s%x00%(trailers:key=${PROMOTION_TRAILER},valueonly,separator=%x20)%x00%(trailers:key=${REVERT_TRAILER},valueonly,separator=%x20)%x1e`,
    tip,
  ]);
  const reverted = new Set<string>();
  for (const record of log.split("\x1e")) {
    const [commit = "", subject = "", promotionValue = "", revertOf = ""] = record.trim().split("\0");
    if (!commit) continue;
    if (revertOf.trim()) {
      reverted.add(revertOf.trim());
      continue;
    }
    const promotion = parsePromotion(promotionValue.trim());
    if (promotion?.to === to && !reverted.has(commit)) return { commit, subject, from: promotion.from };
  }
  throw new PromotionError(
    "PROMOTION_NOT_FOUND",
    `No promotion into ${to} is left to roll back on ${base}${reverted.size ? " (the recent ones are reverted already)" : ""}.`,
    `pass commit: the promotion to revert, or check that promotions into ${to} were merged into ${base}.`,
    { branch: base },
  );
}

export function diffImages(before: OverlayImage[], after: OverlayImage[]): ImageRow[] {
  const afterByName = new Map(after.map((i) => [i.name, i]));
  const beforeNames = new Set(before.map((i) => i.name));
  const rows: ImageRow[] = [];
  for (const image of before) {
    const next = afterByName.get(image.name) ?? null;
    if (!next) rows.push({ name: image.name, before: image, after: null, change: "removed" });
    else if (formatImageReference(next) !== formatImageReference(image)) {
      rows.push({ name: image.name, before: image, after: next, change: "updated" });
    }
  }
  for (const image of after) {
    if (!beforeNames.has(image.name)) rows.push({ name: image.name, before: null, after: image, change: "added" });
  }
  return rows;
}

export async function revertPromotion(options: RevertOptions): Promise<PromotionResult> {
  const opts = parseOptions(revertOptionsSchema, options, "revertPromotion");
  const repo = openRepo(opts.repo, { identity: opts.author, secrets: [opts.github.token], signal: opts.signal });
  await checkRepo(repo, opts.remote);
  const github = await gitHubTarget(repo, opts);
  const baseCommit = await fetchBase(repo, opts.remote, opts.base);
  const promotion = await findPromotion(repo, baseCommit, opts.to, opts.base, opts.commit);
  const target = await findOverlay(repo, baseCommit, opts.overlaysDir, opts.to);
  const branch = opts.branch ?? `rollback/${opts.to}-${promotion.commit.slice(0, 12)}`;

  const worktree = await addWorktree(repo, baseCommit);
  try {
    await repo.runIn(worktree.dir, ["revert", "--no-commit", promotion.commit], {
      code: "REVERT_CONFLICT",
      problem: `Reverting ${promotion.commit.slice(0, 12)} ("${promotion.subject}") conflicts with later changes on ${opts.base}.`,
      hint: `promote the release you want back instead, or revert by hand (git revert ${promotion.commit.slice(0, 12)}) and resolve the conflict.`,
      details: { commit: promotion.commit },
    });
    const after = await readFile(join(worktree.dir, target.path), "utf8");
    const images = diffImages(readTargetImages(target.text, target.path), readTargetImages(after, target.path));
    const staged = (await repo.runIn(worktree.dir, ["diff", "--cached", "--name-only"])).trim();
    const result: PromotionResult = {
      action: "revert",
      status: "up-to-date",
      from: promotion.from,
      to: opts.to,
      base: opts.base,
      remote: opts.remote,
      overlay: target.path,
      baseCommit,
      images,
      untouched: [],
      approval: null,
      forced: false,
      reverted: promotion.commit,
    };
    if (!staged) return result;
    result.message = [
      `Roll back ${opts.to}: revert "${promotion.subject}"`,
      "",
      ...imageLines(images, opts.to),
      "",
      `This reverts commit ${promotion.commit}.`,
      "",
      `${REVERT_TRAILER}: ${promotion.commit}`,
    ].join("\n");
    if (opts.dryRun) return { ...result, status: "planned", ...(opts.delivery === "pull-request" ? { branch } : {}) };
    const signal = opts.signal ? { signal: opts.signal } : {};
    if (opts.delivery === "pull-request") {
      const files = new Map<string, string>();
      for (const path of staged.split("\n")) files.set(path, await repo.runIn(worktree.dir, ["show", `:${path}`]));
      const pushed = await claimBranch(repo, opts.remote, branch, { baseCommit, files });
      if (pushed) {
        const pullRequest = await proposeBranch({
          github,
          message: result.message,
          branch,
          base: opts.base,
          ...signal,
        });
        return { ...result, status: "pull-request", commit: pushed, branch, pullRequest };
      }
    }
    // Awaited here: the finally below removes the worktree the commit is made in.
    return await deliverChange(result, {
      repo,
      worktree: worktree.dir,
      remote: opts.remote,
      base: opts.base,
      mode: opts.delivery,
      branch,
      message: result.message,
      github,
      ...signal,
    });
  } finally {
    await worktree.remove();
  }
}
