/**
 * QA approval, recorded in git as an annotated tag `qa-approved/<env>/<commit>` on the commit QA tested.
 *
 * A tag is what teams already use to mark a tested state: it carries who approved (the tagger) and when, it is
 * pushed and fetched like any ref, shows on GitHub, can be GPG-signed and protected by tag rules, and anyone can
 * check it with `git tag -n99 -l 'qa-approved/*'`. An approval covers a release, not a commit: it holds for any
 * later commit whose overlay pins exactly the same images (a comment or a prod-only change does not undo it, a
 * new staging image does).
 *
 * Anyone who may push tags can write a tag with any tagger name, so only a signed approval counts: `git verify-tag`
 * must accept its signature (SSH, against an allowed-signers file; or GPG, against a keyring), and the signer must not
 * be the person promoting (nobody approves their own promotion).
 */
import { execFile } from "node:child_process";
import { PromotionError } from "./errors.js";
import { checkRepo, fetchBase, type GitRepo, openRepo } from "./git.js";
import { formatImageReference, type OverlayImage, readOverlayImages } from "./kustomization.js";
import { approvalOptionsSchema, parseOptions, type RecordApprovalOptions } from "./options.js";
import { findOverlay } from "./overlay.js";

export const APPROVAL_TAG_PREFIX = "qa-approved";
/** Only the newest approvals are compared: a release promoted after 100 newer staging approvals is stale anyway. */
export const APPROVALS_CHECKED = 100;

/** What an approval's signature is checked against; git's own configuration when left out. */
export interface ApprovalTrust {
  /** SSH signatures: git's allowed-signers file (`<email> <public key>` per line); else `gpg.ssh.allowedSignersFile`. */
  allowedSignersFile?: string | undefined;
  /** GPG signatures: the keyring folder (GNUPGHOME); else gpg's default. */
  gpgHome?: string | undefined;
}

/** An approval of the right release that does not count, and why. */
export interface RefusedApproval {
  tag: string;
  approver: string;
  reason: string;
}

export interface Approval {
  /** The tag's short name, `qa-approved/staging/0123456789ab`. */
  tag: string;
  env: string;
  /** The commit QA tested. */
  commit: string;
  /** `Name <email>` of the tagger. */
  approver: string;
  /** Who signed it, as the allowed-signers file or the keyring names them (an email); set once verified. */
  signer?: string | undefined;
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
  check?: { trust: ApprovalTrust; promoter: string | undefined },
): Promise<{ approval: Approval | null; others: TagRow[]; refused: RefusedApproval[] }> {
  const wanted = releaseKey(images);
  const blob = await blobAt(repo, commit, overlayPath);
  const others: TagRow[] = [];
  const refused: RefusedApproval[] = [];
  // An approval of this release counts only once its signature checks out (when asked to check).
  const accept = async (row: TagRow, tested: OverlayImage[]): Promise<Approval | null> => {
    const approval: Approval = { ...row, env, images: tested, created: false };
    if (!check) return approval;
    const verdict = await verifyApproval(repo.dir, row.tag, check.trust);
    if (!verdict.ok) {
      refused.push({ tag: row.tag, approver: row.approver, reason: verdict.reason });
      return null;
    }
    if (check.promoter && verdict.signer.toLowerCase() === check.promoter.toLowerCase()) {
      refused.push({
        tag: row.tag,
        approver: row.approver,
        reason: `it is signed by ${verdict.signer}, who is promoting: nobody approves their own promotion`,
      });
      return null;
    }
    return { ...approval, signer: verdict.signer };
  };
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
    let testedImages: OverlayImage[];
    if (tested === blob) testedImages = [...images];
    else {
      try {
        testedImages = readOverlayImages(await repo.run(["cat-file", "blob", tested]), overlayPath);
      } catch {
        others.push(row);
        continue;
      }
    }
    if (tested === blob || releaseKey(testedImages) === wanted) {
      const approval = await accept(row, testedImages);
      if (approval) return { approval, others, refused };
      continue;
    }
    others.push(row);
  }
  return { approval: null, others, refused };
}

/** `git verify-tag`: SSH signatures say `Good "git" signature for <principal>`, GPG ones `[GNUPG:] GOODSIG <id> <uid>`. */
const SSH_GOOD = /Good "git" signature for (\S+) with/;
const GPG_GOOD = /^\[GNUPG:\] GOODSIG [0-9A-F]+ (.*)$/m;

export async function verifyApproval(
  dir: string,
  tag: string,
  trust: ApprovalTrust,
): Promise<{ ok: true; signer: string } | { ok: false; reason: string }> {
  const args = [
    ...(trust.allowedSignersFile ? ["-c", `gpg.ssh.allowedSignersFile=${trust.allowedSignersFile}`] : []),
    "verify-tag",
    "--raw",
    `refs/tags/${tag}`,
  ];
  const env = { ...process.env, LC_ALL: "C", ...(trust.gpgHome ? { GNUPGHOME: trust.gpgHome } : {}) };
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile("git", args, { cwd: dir, env, timeout: 30_000 }, (error, stdout, stderr) => {
      const exit = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code: exit, output: `${stdout}${stderr}` });
    });
  });
  if (code === 0) {
    const ssh = SSH_GOOD.exec(output);
    if (ssh?.[1]) return { ok: true, signer: ssh[1] };
    const gpg = GPG_GOOD.exec(output);
    const uid = gpg?.[1];
    if (uid) return { ok: true, signer: /<([^>]+)>/.exec(uid)?.[1] ?? uid };
    return { ok: false, reason: "git accepted its signature but did not say who signed it" };
  }
  if (/no signature found/i.test(output)) return { ok: false, reason: "it is not signed (anyone can write that tag)" };
  if (/allowedSignersFile needs to be configured/i.test(output)) {
    return {
      ok: false,
      reason:
        "its SSH signature cannot be checked: no allowed-signers file (pass the approvers' allowed-signers file, or set gpg.ssh.allowedSignersFile)",
    };
  }
  if (/No principal matched|not in allowed signers|Could not verify signature/i.test(output)) {
    return { ok: false, reason: "it is signed by a key that is not in the allowed-signers file" };
  }
  if (/public key not found|No public key|NO_PUBKEY/i.test(output)) {
    return { ok: false, reason: "it is signed by a GPG key that is not in the keyring" };
  }
  const first = output.split("\n").find((line) => line.trim() !== "") ?? `git verify-tag exited ${code}`;
  return { ok: false, reason: `its signature does not verify (${first.trim()})` };
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

  // Signed with the approver's own key (git's gpg.format and user.signingkey): an unsigned approval does not count.
  await repo.run(["tag", "--sign", tag, "-m", approvalMessage(opts.env, commit, images, approver, opts.note), commit], {
    code: "SIGNING_FAILED",
    problem: `git could not sign the approval tag ${tag}; only signed approvals count.`,
    hint: "configure your signing key, e.g. git config gpg.format ssh and git config user.signingkey ~/.ssh/id_ed25519.pub (or a GPG key), then run again.",
  });
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
