/**
 * Promotion (seed 003): the images `from` runs become the images `to` runs, as one commit on a branch with a pull
 * request, or pushed straight onto `base`. Refused without a QA approval of exactly that release unless forced.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { approvalRefspec, findApproval } from "./approval.js";
import { claimBranch, deliverChange, imageLines, type PromotionResult, proposeBranch } from "./deliver.js";
import { PromotionError } from "./errors.js";
import { addWorktree, checkRepo, fetchBase, type GitRepo, openRepo } from "./git.js";
import { type GitHubTarget, resolveGitHub } from "./github.js";
import { formatImageReference, type OverlayImage, planOverlayPromotion, readOverlayImages } from "./kustomization.js";
import { type PromoteOptions, parseOptions, promoteOptionsSchema } from "./options.js";
import { findOverlay } from "./overlay.js";
import { pinDigests } from "./registry.js";
import { sourceHealthRefusal } from "./source-health.js";
import { waitUntilLive } from "./wait.js";

/** Trailers that let a rollback find a promotion from git alone. */
export const PROMOTION_TRAILER = "Rollway-Promotion";
export const SOURCE_COMMIT_TRAILER = "Rollway-Source-Commit";

export async function gitHubTarget(
  repo: GitRepo,
  opts: { delivery: "pull-request" | "push"; dryRun: boolean; remote: string; github: PromoteOptions["github"] },
): Promise<GitHubTarget | undefined> {
  if (opts.delivery !== "pull-request" || opts.dryRun) return undefined;
  const url = (await repo.run(["remote", "get-url", opts.remote])).trim();
  return resolveGitHub(opts.github ?? {}, url, opts.remote);
}

export async function promoteEnvironment(options: PromoteOptions): Promise<PromotionResult> {
  const opts = parseOptions(promoteOptionsSchema, options, "promoteEnvironment");
  if (opts.from === opts.to) {
    throw new PromotionError(
      "INVALID_OPTIONS",
      `Cannot promote "${opts.from}" onto itself.`,
      "pass two different environments, like from: staging, to: prod.",
    );
  }
  const repo = openRepo(opts.repo, { identity: opts.author, secrets: [opts.github.token], signal: opts.signal });
  await checkRepo(repo, opts.remote);
  // Everything that can be refused is checked before the first write.
  const github = await gitHubTarget(repo, opts);
  const baseCommit = await fetchBase(repo, opts.remote, opts.base, [approvalRefspec(opts.from)]);
  const source = await findOverlay(repo, baseCommit, opts.overlaysDir, opts.from);
  const target = await findOverlay(repo, baseCommit, opts.overlaysDir, opts.to);
  const pins = opts.pinDigest
    ? await pinDigests(readOverlayImages(source.text, source.path), {
        ...opts.registry,
        ...(opts.signal ? { signal: opts.signal } : {}),
      })
    : undefined;
  const plan = planOverlayPromotion({
    fromText: source.text,
    fromPath: source.path,
    toText: target.text,
    toPath: target.path,
    missingImages: opts.missingImages,
    ...(pins ? { pins } : {}),
  });

  const result: PromotionResult = {
    action: "promote",
    status: "up-to-date",
    from: opts.from,
    to: opts.to,
    base: opts.base,
    remote: opts.remote,
    overlay: target.path,
    baseCommit,
    images: plan.images,
    untouched: plan.untouched,
    approval: null,
    forced: false,
  };
  if (!plan.changed) return result;

  const sourceImages = plan.images.map((row) => ({ ...row.after, name: row.name }));
  const promoter = opts.author?.email ?? (await configuredEmail(repo));
  const { approval, others, refused } = await findApproval(repo, opts.from, source.path, baseCommit, sourceImages, {
    trust: opts.trust,
    promoter,
  });
  let refusal: PromotionError | undefined;
  if (!approval && !opts.force && refused.length > 0) {
    refusal = new PromotionError(
      "APPROVAL_UNTRUSTED",
      `No QA approval that can be trusted is recorded for what ${opts.from} runs at ${baseCommit.slice(0, 12)} (${listImages(plan.images)}):\n${refused
        .map((r) => `  ${r.tag} (tagger ${r.approver}) does not count: ${r.reason}`)
        .join("\n")}`,
      `QA (not the promoter) records the approval signed with their own key (rollway promote-env approve), and the promotion checks it against the approvers' keys (--allowed-signers <file> or --gpg-home <dir>; trust in the library).`,
      { commit: baseCommit, images: plan.images.map((i) => i.name) },
    );
  }
  if (!approval && !opts.force && !refusal) {
    const latest = others[0];
    refusal = new PromotionError(
      "APPROVAL_MISSING",
      `No QA approval is recorded for what ${opts.from} runs at ${baseCommit.slice(0, 12)} (${listImages(plan.images)}).${
        latest
          ? ` The latest approval, ${latest.tag} by ${latest.approver}, covers other images.`
          : ` There is no qa-approved/${opts.from}/* tag on "${opts.remote}".`
      }`,
      `once QA has approved this release, record it with recordApproval({ env: "${opts.from}", approver }) (rollway promote-env approve), or pass force: true to promote without approval.`,
      { commit: baseCommit, images: plan.images.map((i) => i.name) },
    );
  }
  // The source must be healthy and serve what is promoted: checked last, as it reads clusters and Argo CD.
  if (opts.skipHealthCheck) result.sourceHealth = { skipped: true, checks: opts.sourceChecks.map((c) => c.name) };
  else if (opts.sourceChecks.length > 0 && !refusal) {
    refusal = await sourceHealthRefusal(opts.sourceChecks, {
      env: opts.from,
      images: plan.images.flatMap((row) => (row.after ? [{ ...row.after, name: row.name }] : [])),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!refusal) result.sourceHealth = { skipped: false, checks: opts.sourceChecks.map((c) => c.name) };
  }
  // A dry run shows the change even when the real run would be refused, and says so; a real run stops here.
  if (refusal && !opts.dryRun) throw refusal;
  result.approval = approval;
  result.forced = !approval && !refusal;
  if (refusal) result.wouldRefuse = { code: refusal.code, reason: refusal.message };
  const signal = opts.signal ? { signal: opts.signal } : {};
  const branch = opts.branch ?? `promote/${opts.from}-to-${opts.to}-${baseCommit.slice(0, 12)}`;
  const message = promotionMessage(result, baseCommit);
  result.message = message;
  if (opts.dryRun) return { ...result, status: "planned", ...(opts.delivery === "pull-request" ? { branch } : {}) };

  const delivered = await deliver();
  if (!opts.wait) return delivered;
  const live = await waitUntilLive({
    repo,
    remote: opts.remote,
    base: opts.base,
    delivered:
      delivered.pullRequest && github
        ? { pullRequest: delivered.pullRequest, github }
        : { commit: delivered.commit ?? baseCommit },
    argoCd: opts.wait.argoCd,
    timeoutSeconds: opts.wait.timeoutSeconds,
    intervalMs: opts.wait.intervalMs,
    signal: opts.signal,
  });
  return { ...delivered, live };

  async function deliver(): Promise<PromotionResult> {
    if (opts.delivery === "pull-request") {
      const pushed = await claimBranch(repo, opts.remote, branch, {
        baseCommit,
        files: new Map([[target.path, plan.text]]),
      });
      if (pushed) {
        const pullRequest = await proposeBranch({
          github,
          message,
          branch,
          base: opts.base,
          ...signal,
        });
        return { ...result, status: "pull-request", commit: pushed, branch, pullRequest };
      }
    }
    const worktree = await addWorktree(repo, baseCommit);
    try {
      await writeFile(join(worktree.dir, target.path), plan.text);
      await repo.runIn(worktree.dir, ["add", "--", target.path]);
      // Awaited here: the finally below removes the worktree the commit is made in.
      return await deliverChange(result, {
        repo,
        worktree: worktree.dir,
        remote: opts.remote,
        base: opts.base,
        mode: opts.delivery,
        branch,
        message,
        github,
        ...signal,
      });
    } finally {
      await worktree.remove();
    }
  }
}

async function configuredEmail(repo: GitRepo): Promise<string | undefined> {
  const configured = await repo
    .run(["config", "--get", "user.email"])
    .then((v) => v.trim())
    .catch(() => "");
  // As git picks the author of the promotion commit: the environment over the configuration.
  return process.env.GIT_AUTHOR_EMAIL || configured || undefined;
}

function listImages(images: readonly { name: string; after: OverlayImage }[]): string {
  const shown = images.slice(0, 5).map((i) => `${i.name} ${formatImageReference(i.after)}`);
  return images.length > 5 ? `${shown.join(", ")} and ${images.length - 5} more` : shown.join(", ");
}

function promotionMessage(result: PromotionResult, baseCommit: string): string {
  const lines = [`Promote ${result.from} to ${result.to}`, "", ...imageLines(result.images, result.to)];
  const unchanged = result.images.filter((i) => i.change === "unchanged").map((i) => i.name);
  if (unchanged.length) lines.push(`Already the same: ${unchanged.join(", ")}`);
  lines.push("");
  if (result.approval) {
    lines.push(`QA approval: ${result.approval.tag} by ${result.approval.approver} on ${result.approval.date}`);
  } else {
    lines.push(`QA approval: none recorded, promotion forced`);
  }
  lines.push("", `${PROMOTION_TRAILER}: ${result.from} -> ${result.to}`, `${SOURCE_COMMIT_TRAILER}: ${baseCommit}`);
  return lines.join("\n");
}
