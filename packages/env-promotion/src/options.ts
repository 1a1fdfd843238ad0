/** The options of every entry point, as zod schemas: the types are inferred from them and bad input is refused here. */
import { z } from "zod";
import { PromotionError } from "./errors.js";
import type { SourceCheck } from "./source-health.js";

const argoCdApplication = z.object({
  /** Argo CD's address (ARGOCD_SERVER), e.g. https://argocd.example.com. */
  server: z.string().min(1),
  /** A bearer token that may get the application (ARGOCD_AUTH_TOKEN). Never logged. */
  token: z.string().min(1),
  application: z.string().min(1),
  appNamespace: z.string().min(1).optional(),
});

// An environment name becomes a folder and a ref component: keep it to what both accept safely.
const environment = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$/, "must be lower-case letters, digits, - or _ (like staging or prod)");

// A subset of git check-ref-format's rules that is easy to state: safe characters, no "..", no empty component.
const branchName = z
  .string()
  .regex(/^[A-Za-z0-9._/-]+$/, "is not a valid git branch name (letters, digits, . _ - /)")
  .refine((b) => !/^[-/.]|[/.]$|\.\.|\/\/|\.lock$|\/\./.test(b) && b !== "HEAD", "is not a valid git branch name");

// A commit-ish as people type it (sha, tag, main~2), never something git could read as an option.
const commitish = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/~^@{}-]*$/, "is not a commit (a sha, tag or branch)");

const identity = z.object({ name: z.string().min(1), email: z.string().min(3) });

const gitHub = z.object({
  /** A token allowed to open pull requests (pull-requests: write). Never logged. */
  token: z.string().min(1).optional(),
  /** Defaults to the owner and name parsed from the remote's URL. */
  owner: z.string().min(1).optional(),
  repo: z.string().min(1).optional(),
  /** GitHub Enterprise's API URL; https://api.github.com by default. */
  baseUrl: z.url().optional(),
});

const common = {
  /** Path of a clone of the GitOps repository. Its checkout is never changed: work happens in a temporary worktree. */
  repo: z.string().min(1),
  remote: z.string().min(1).default("origin"),
  /** The branch the GitOps tool deploys from. */
  base: branchName.default("main"),
  /** Folder holding one overlay folder per environment (`kustomize/prod/kustomization.yaml`). */
  overlaysDir: z
    .string()
    .min(1)
    .refine((d) => !d.split("/").includes("..") && !d.startsWith("/"), "must be a relative path inside the repository")
    .default("kustomize"),
  /** `pull-request` pushes a branch and opens a pull request; `push` pushes the commit straight to `base`. */
  delivery: z.enum(["pull-request", "push"]).default("pull-request"),
  /** The branch to push for a pull request; a name derived from the environments and commit by default. */
  branch: branchName.optional(),
  author: identity.optional(),
  github: gitHub.default({}),
  /** Compute and report what would change, without committing or pushing anything. */
  dryRun: z.boolean().default(false),
  signal: z.instanceof(AbortSignal).optional(),
};

export const promoteOptionsSchema = z.object({
  ...common,
  from: environment,
  to: environment,
  /** Promote even without a recorded QA approval; the commit message says it was forced. */
  force: z.boolean().default(false),
  /** What approvals' signatures are checked against; git's configuration (gpg.ssh.allowedSignersFile, gpg) by default. */
  trust: z
    .object({ allowedSignersFile: z.string().min(1).optional(), gpgHome: z.string().min(1).optional() })
    .default({}),
  /** An image pinned in `from` but absent from `to`: add it to `to` (default) or refuse the promotion. */
  missingImages: z.enum(["add", "refuse"]).default("add"),
  /** Resolve each promoted image's tag to its digest in the registry and write it as `digest:`; refuse missing images. */
  pinDigest: z.boolean().default(false),
  /**
   * Views of `from` that must say it is healthy and serves the images promoted (rollway's status of the environment,
   * an Argo CD application: `componentStatusCheck`, `argoCdHealthCheck`); refused with SOURCE_UNHEALTHY otherwise.
   */
  sourceChecks: z
    .array(
      z.custom<SourceCheck>(
        (c) => typeof c === "object" && c !== null && typeof (c as SourceCheck).check === "function",
        "must be a source check (componentStatusCheck or argoCdHealthCheck)",
      ),
    )
    .default([]),
  /** Promote without running `sourceChecks`: an explicit choice, said in the result. */
  skipHealthCheck: z.boolean().default(false),
  /**
   * After delivering: wait for the pull request to be merged (pull-request delivery), then for the target's Argo CD
   * application to sync to it and report Healthy, as `argocd app wait --sync --health`; bounded by `timeoutSeconds`.
   */
  wait: z
    .object({
      argoCd: argoCdApplication.optional(),
      timeoutSeconds: z.number().positive().default(600),
      /** How often GitHub and Argo CD are asked. */
      intervalMs: z.number().int().positive().default(5000),
    })
    .optional(),
  /** How registries are reached when pinning digests. */
  registry: z
    .object({
      /** Per registry host; never logged. */
      credentials: z
        .record(z.string(), z.object({ username: z.string().min(1), password: z.string().min(1) }))
        .optional(),
      /** Hosts reached over plain http (loopback hosts always are). */
      plainHttp: z.array(z.string().min(1)).optional(),
    })
    .default({}),
});

export const revertOptionsSchema = z.object({
  ...common,
  /** The environment whose promotion is rolled back. */
  to: environment,
  /** The promotion commit to revert; by default the latest not yet reverted promotion into `to` on `base`. */
  commit: commitish.optional(),
});

export const approvalOptionsSchema = z.object({
  repo: common.repo,
  remote: common.remote,
  base: common.base,
  overlaysDir: common.overlaysDir,
  /** The environment QA tested (the `from` of a later promotion). */
  env: environment,
  /** Who approves: the tag's tagger. By default git's configured user (user.name, user.email). */
  approver: identity.optional(),
  /** The commit QA tested; by default the tip of `<remote>/<base>`. */
  commit: commitish.optional(),
  /** What was tested, a ticket link: kept in the tag's message. */
  note: z.string().optional(),
  signal: common.signal,
});

export type PromoteOptions = z.input<typeof promoteOptionsSchema>;
export type RevertOptions = z.input<typeof revertOptionsSchema>;
export type RecordApprovalOptions = z.input<typeof approvalOptionsSchema>;
export type GitHubOptions = z.infer<typeof gitHub>;

export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `${issue.path.join(".") || "options"}: ${issue.message}`);
  throw new PromotionError(
    "INVALID_OPTIONS",
    `Invalid options for ${what}:\n  ${lines.join("\n  ")}`,
    "correct the options listed above.",
  );
}
