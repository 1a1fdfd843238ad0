/**
 * QA approval, recorded in git as an annotated tag `qa-approved/<env>/<commit>` on the commit QA tested.
 *
 * A tag is what teams already use to mark a tested state: it carries who approved (the tagger) and when, it is
 * pushed and fetched like any ref, shows on GitHub, can be GPG-signed and protected by tag rules, and anyone can
 * check it with `git tag -n99 -l 'qa-approved/*'`. An approval covers a release, not a commit: it holds for any
 * later commit whose overlay pins exactly the same images (a comment or a prod-only change does not undo it, a
 * new staging image does).
 */
import { PromotionError } from "./errors.js";
import { checkRepo, fetchBase, type GitRepo, openRepo } from "./git.js";
import { formatImageReference, type OverlayImage, readOverlayImages } from "./kustomization.js";
import { approvalOptionsSchema, parseOptions, type RecordApprovalOptions } from "./options.js";
import { findOverlay } from "./overlay.js";

export const APPROVAL_TAG_PREFIX = "qa-approved";
/** Only the newest approvals are compared: a release promoted after 100 newer staging approvals is stale anyway. */
export const APPROVALS_CHECKED = 100;

export interface Approval {
  /** The tag's short name, `qa-approved/staging/0123456789ab`. */
  tag: string;
  env: string;
  /** The commit QA tested. */
  commit: string;
  /** `Name <email>` of the tagger. */
  approver: string;
  /** ISO 8601 time of the approval. */
  date: string;
  /** The images of the environment's overlay at `commit`. */
  images: OverlayImage[];
  /** False when the same approval was already recorded (recordApproval is safe to run twice). */
  created: boolean;
}

export function approvalTagPrefix(env: string): string {
  return `${APPROVAL_TAG_PREFIX}/${env}/`;
}

/** The refspec that fetches every approval of `env` from the remote. */
export function approvalRefspec(env: string): string {
  const refs = `refs/tags/${approvalTagPrefix(env)}*`;
  return `+${refs}:${refs}`;
}

/** The release an overlay pins, independent of order, comments and formatting. */
export function releaseKey(images: readonly OverlayImage[]): string {
  return images
    .map((i) => `${i.name}=${formatImageReference(i)}`)
    .sort()
    .join("\n");
}

interface TagRow {
  tag: string;
  commit: string;
  approver: string;
  date: string;
}

async function listApprovalTags(repo: GitRepo, env: string): Promise<TagRow[]> {
  const format = [
    "%(refname:strip=2)",
    "%(objecttype)",
    "%(*objectname)",
    "%(taggername) %(taggeremail)",
    "%(taggerdate:iso-strict)",
  ];
  const out = await repo.run([
    "for-each-ref",
    "--sort=-taggerdate",
    `--format=${format.join("%09")}`,
    `refs/tags/${approvalTagPrefix(env)}`,
  ]);
  const rows: TagRow[] = [];
  for (const line of out.split("\n")) {
    const [tag, type, commit, approver, date] = line.split("\t");
    // Lightweight tags say nothing about who approved: they do not count.
    if (!tag || type !== "tag" || !commit || !approver || !date) continue;
    rows.push({ tag, commit, approver, date });
  }
  return rows;
}

async function blobAt(repo: GitRepo, commit: string, path: string): Promise<string | undefined> {
  return repo
    .run(["rev-parse", "--verify", "--quiet", `${commit}:${path}`])
    .then((out) => out.trim() || undefined)
    .catch(() => undefined);
}

/** The overlay's blob at each commit: one git process for all of them, or one each when some lack the file. */
async function blobsAt(repo: GitRepo, commits: string[], path: string): Promise<(string | undefined)[]> {
  if (commits.length === 0) return [];
  const all = await repo
    .run(["rev-parse", ...commits.map((commit) => `${commit}:${path}`)])
    .then((out) => out.trim().split("\n"))
    .catch(() => undefined);
  if (all?.length === commits.length) return all;
  const one: (string | undefined)[] = [];
  for (const commit of commits) one.push(await blobAt(repo, commit, path));
  return one;
}

/**
 * The newest approval of `env` whose tested overlay pins the same images as the overlay at `commit`.
 * Returns `null` when there is none, with the approvals that exist for other releases in `others`.
 */
export async function findApproval(
  repo: GitRepo,
  env: string,
  overlayPath: string,
  commit: string,
  images: readonly OverlayImage[],
): Promise<{ approval: Approval | null; others: TagRow[] }> {
  const wanted = releaseKey(images);
  const blob = await blobAt(repo, commit, overlayPath);
  const others: TagRow[] = [];
  const rows = (await listApprovalTags(repo, env)).slice(0, APPROVALS_CHECKED);
  const blobs = await blobsAt(
    repo,
    rows.map((row) => row.commit),
    overlayPath,
  );
  for (const [index, row] of rows.entries()) {
    const tested = blobs[index];
    if (!tested) {
      others.push(row);
      continue;
    }
    if (tested === blob) return { approval: { ...row, env, images: [...images], created: false }, others };
    let testedImages: OverlayImage[];
    try {
      testedImages = readOverlayImages(await repo.run(["cat-file", "blob", tested]), overlayPath);
    } catch {
      others.push(row);
      continue;
    }
    if (releaseKey(testedImages) === wanted) {
      return { approval: { ...row, env, images: testedImages, created: false }, others };
    }
    others.push(row);
  }
  return { approval: null, others };
}

function approvalMessage(env: string, commit: string, images: OverlayImage[], approver: string, note?: string): string {
  const lines = [`QA approved ${env} at ${commit.slice(0, 12)}`, ""];
  if (note?.trim()) lines.push(note.trim(), "");
  lines.push("Images:");
  for (const image of images) lines.push(`  ${image.name}: ${formatImageReference(image)}`);
  lines.push("", `Approved-by: ${approver}`, `Rollway-Environment: ${env}`, `Rollway-Tested-Commit: ${commit}`);
  return lines.join("\n");
}

async function configuredIdentity(repo: GitRepo): Promise<{ name: string; email: string }> {
  const read = (key: string) =>
    repo
      .run(["config", "--get", key])
      .then((v) => v.trim())
      .catch(() => "");
  const [name, email] = [await read("user.name"), await read("user.email")];
  if (!name || !email) {
    throw new PromotionError(
      "INVALID_OPTIONS",
      "No approver was given and git has no user.name and user.email configured.",
      'pass approver: { name, email }, or run git config user.name "..." and git config user.email "...".',
    );
  }
  return { name, email };
}

/**
 * Records QA's approval of what `env` runs at `commit` (by default the tip of `<remote>/<base>`) as an annotated
 * tag by `approver` (git's configured user by default), and pushes it: only approvals on the remote count.
 */
export async function recordApproval(options: RecordApprovalOptions): Promise<Approval> {
  const opts = parseOptions(approvalOptionsSchema, options, "recordApproval");
  const configured = openRepo(opts.repo, { signal: opts.signal });
  await checkRepo(configured, opts.remote);
  const approverIdentity = opts.approver ?? (await configuredIdentity(configured));
  const repo = openRepo(opts.repo, { identity: approverIdentity, signal: opts.signal });
  const tip = await fetchBase(repo, opts.remote, opts.base, [approvalRefspec(opts.env)]);
  const commit = opts.commit
    ? (
        await repo.run(["rev-parse", "--verify", `${opts.commit}^{commit}`], {
          code: "INVALID_OPTIONS",
          problem: `There is no commit "${opts.commit}" in ${opts.repo}.`,
          hint: `pass commit: a commit of ${opts.base} (git log ${opts.remote}/${opts.base}), after fetching it.`,
          details: { commit: opts.commit },
        })
      ).trim()
    : tip;
  const overlay = await findOverlay(repo, commit, opts.overlaysDir, opts.env);
  const images = readOverlayImages(overlay.text, overlay.path);
  if (images.length === 0) {
    throw new PromotionError(
      "KUSTOMIZATION_INVALID",
      `${overlay.path} has no images at ${commit.slice(0, 12)}: there is no release to approve.`,
      `approve a commit whose ${overlay.path} lists the release's images.`,
      { path: overlay.path, commit },
    );
  }
  const approver = `${approverIdentity.name} <${approverIdentity.email}>`;
  const tag = `${approvalTagPrefix(opts.env)}${commit.slice(0, 12)}`;

  const existing = (await listApprovalTags(repo, opts.env)).find((row) => row.tag === tag);
  if (existing) return { ...existing, env: opts.env, images, created: false };

  await repo.run([
    "tag",
    "--annotate",
    tag,
    "-m",
    approvalMessage(opts.env, commit, images, approver, opts.note),
    commit,
  ]);
  try {
    await repo.run(["push", "--quiet", opts.remote, `refs/tags/${tag}:refs/tags/${tag}`], {
      code: "PUSH_REJECTED",
      problem: `The remote "${opts.remote}" refused the approval tag ${tag}.`,
      hint: `make sure you may push tags matching ${APPROVAL_TAG_PREFIX}/* to "${opts.remote}", then run again.`,
      details: { remote: opts.remote },
    });
  } catch (error) {
    // An approval nobody else can see is not recorded: leave no local tag that would pretend otherwise.
    await repo.run(["tag", "--delete", tag]).catch(() => undefined);
    throw error;
  }
  const [row] = (await listApprovalTags(repo, opts.env)).filter((r) => r.tag === tag);
  if (!row) throw new Error(`tag ${tag} vanished right after it was created`);
  return { ...row, env: opts.env, images, created: true };
}
