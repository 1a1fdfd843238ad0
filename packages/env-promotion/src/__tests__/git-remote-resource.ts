/**
 * A real GitOps repository for tests: a bare repository as the remote and a clone as the user's checkout, with a
 * kustomize base and staging/prod overlays on main. Removed with everything in it when the test finishes.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, onTestFinished } from "vitest";
import { BASE_KUSTOMIZATION, PROD_KUSTOMIZATION, STAGING_KUSTOMIZATION } from "./fixtures.js";

export const DEVELOPER = { name: "Dev Eloper", email: "dev@example.com" };
export const QA = { name: "Quinn Assurance", email: "qa@example.com" };

/**
 * SSH signing keys made with ssh-keygen, as people sign git tags today (`gpg.format ssh`): QA's and the developer's,
 * and the allowed-signers file naming both (`<email> <public key>` per line, git's format). Made once per test file.
 */
export interface SigningKeys {
  dir: string;
  qa: string;
  developer: string;
  allowedSigners: string;
}
let keys: SigningKeys | undefined;

export function signingKeys(): SigningKeys {
  if (keys) return keys;
  const dir = mkdtempSync(join(tmpdir(), "rollway-env-promotion-keys-"));
  const make = (name: string, email: string) => {
    const path = join(dir, name);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", email, "-f", path]);
    return path;
  };
  const qa = make("qa", QA.email);
  const developer = make("developer", DEVELOPER.email);
  const allowedSigners = join(dir, "allowed_signers");
  writeFileSync(
    allowedSigners,
    [
      `${QA.email} ${readFileSync(`${qa}.pub`, "utf8").trim()}`,
      `${DEVELOPER.email} ${readFileSync(`${developer}.pub`, "utf8").trim()}`,
      "",
    ].join("\n"),
  );
  keys = { dir, qa, developer, allowedSigners };
  return keys;
}

/** `git tag` signing with an SSH key, without touching any git config. */
export function signedTagArgs(key: string): string[] {
  return ["-c", "gpg.format=ssh", "-c", `user.signingkey=${key}`];
}

const identity = {
  GIT_AUTHOR_NAME: DEVELOPER.name,
  GIT_AUTHOR_EMAIL: DEVELOPER.email,
  GIT_COMMITTER_NAME: DEVELOPER.name,
  GIT_COMMITTER_EMAIL: DEVELOPER.email,
  GIT_TERMINAL_PROMPT: "0",
  LC_ALL: "C",
};

export function git(cwd: string, args: string[], input?: string): string {
  return execFileSync("git", args, {
    cwd,
    env: { ...process.env, ...identity },
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    ...(input === undefined ? {} : { input }),
  });
}

export interface GitRemoteResource {
  /** The user's clone (the `repo` option). */
  clone: string;
  /** The bare repository the clone's `origin` points at. */
  bare: string;
  /** Commits files straight onto the remote's main, as a teammate would (through a second clone). */
  commitOnRemote(files: Record<string, string>, message: string): string;
  /** A file on the remote at a ref. */
  show(ref: string, path: string): string;
  /** `git <args>` in the bare remote. */
  remoteGit(args: string[]): string;
  /** The remote's branches and tags with their commits. */
  refs(): string;
}

export const OVERLAYS = {
  "kustomize/base/kustomization.yaml": BASE_KUSTOMIZATION,
  "kustomize/staging/kustomization.yaml": STAGING_KUSTOMIZATION,
  "kustomize/prod/kustomization.yaml": PROD_KUSTOMIZATION,
};

function writeFiles(dir: string, files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

// Building the repositories takes a dozen git processes; copying a ready-made set takes none.
const templates = new Map<string, string>();

function template(files: Record<string, string>, approved: boolean): string {
  const key = JSON.stringify({ files, approved });
  const existing = templates.get(key);
  if (existing) return existing;
  const root = mkdtempSync(join(tmpdir(), "rollway-env-promotion-template-"));
  const seed = join(root, "teammate");
  git(root, ["init", "--quiet", "--bare", "--initial-branch=main", join(root, "gitops.git")]);
  git(root, ["init", "--quiet", "--initial-branch=main", seed]);
  writeFiles(seed, { "README.md": "# GitOps\n", ...files });
  git(seed, ["add", "."]);
  git(seed, ["commit", "--quiet", "-m", "Initial overlays"]);
  git(seed, ["remote", "add", "origin", join(root, "gitops.git")]);
  git(seed, ["push", "--quiet", "--set-upstream", "origin", "main"]);
  if (approved) {
    // QA approving by hand, as the README tells people without rollway to do: a tag signed with QA's SSH key.
    const commit = git(seed, ["rev-parse", "HEAD"]).trim();
    execFileSync(
      "git",
      [
        ...signedTagArgs(signingKeys().qa),
        "tag",
        "-s",
        `qa-approved/staging/${commit.slice(0, 12)}`,
        "-m",
        "QA approved staging",
        commit,
      ],
      {
        cwd: seed,
        env: { ...process.env, GIT_COMMITTER_NAME: QA.name, GIT_COMMITTER_EMAIL: QA.email },
      },
    );
    git(seed, ["push", "--quiet", "origin", "--tags"]);
  }
  const checkout = join(root, "checkout");
  git(root, ["clone", "--quiet", join(root, "gitops.git"), checkout]);
  // The user's clone trusts QA's and the developer's keys, and signs (approvals) with QA's, as QA's clone would.
  git(checkout, ["config", "gpg.ssh.allowedSignersFile", signingKeys().allowedSigners]);
  git(checkout, ["config", "gpg.format", "ssh"]);
  git(checkout, ["config", "user.signingkey", signingKeys().qa]);
  templates.set(key, root);
  return root;
}

afterAll(() => {
  for (const root of templates.values()) rmSync(root, { recursive: true, force: true });
  templates.clear();
  if (keys) rmSync(keys.dir, { recursive: true, force: true });
  keys = undefined;
});

export interface GitRemoteOptions {
  files?: Record<string, string>;
  /** Start with QA's approval of the initial staging release on the remote (a hand-made annotated tag). */
  approved?: boolean;
}

export function gitRemoteResource(options: GitRemoteOptions = {}): GitRemoteResource {
  const from = template(options.files ?? OVERLAYS, options.approved ?? false);
  const root = mkdtempSync(join(tmpdir(), "rollway-env-promotion-test-"));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  cpSync(from, root, { recursive: true });
  const bare = join(root, "gitops.git");
  const seed = join(root, "teammate");
  const clone = join(root, "checkout");
  // The copies' remotes still point at the template's bare repository: point them at this one.
  for (const config of [join(seed, ".git", "config"), join(clone, ".git", "config")]) {
    writeFileSync(config, readFileSync(config, "utf8").replaceAll(from, root));
  }

  return {
    clone,
    bare,
    commitOnRemote(changed, message) {
      git(seed, ["pull", "--quiet", "--ff-only", "origin", "main"]);
      writeFiles(seed, changed);
      git(seed, ["add", "."]);
      git(seed, ["commit", "--quiet", "-m", message]);
      git(seed, ["push", "--quiet", "origin", "main"]);
      return git(seed, ["rev-parse", "HEAD"]).trim();
    },
    show: (ref, path) => git(bare, ["show", `${ref}:${path}`]),
    remoteGit: (args) => git(bare, args),
    refs: () => git(bare, ["for-each-ref", "--format=%(refname) %(objectname)"]),
  };
}

/** A repository whose staging release QA already approved (by hand, with git tag -a). */
export function approvedRepo() {
  const remote = gitRemoteResource({ approved: true });
  const main = remote.remoteGit(["rev-parse", "main"]).trim();
  return { remote, approval: { tag: `qa-approved/staging/${main.slice(0, 12)}` } };
}
