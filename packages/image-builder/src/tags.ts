/**
 * Tags and labels exactly as the seed's GitLab CI computes them (seed 004, `.build-docker-image`):
 * `latest`, `$CI_COMMIT_REF_SLUG-$CI_COMMIT_SHORT_SHA`, `$CI_COMMIT_REF_SLUG`, any additional tags, and the git tag
 * passed through `tr _/:\  ----`. Pure functions: no engine, no git.
 */
import { type ImageBuildProblem, redactSecrets } from "./errors.js";

/** The seed's label for the app version (`--label draw_version=$DRAW_VERSION`). */
export const APP_VERSION_LABEL = "draw_version";
export const OCI_REVISION_LABEL = "org.opencontainers.image.revision";
export const OCI_SOURCE_LABEL = "org.opencontainers.image.source";
export const OCI_CREATED_LABEL = "org.opencontainers.image.created";

/** Docker's tag grammar: a word character first, then up to 127 word characters, dots and dashes. */
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const SHA_PATTERN = /^[0-9a-f]{7,64}$/i;
/** GitLab's `CI_COMMIT_SHORT_SHA` is the first 8 characters of the commit. */
export const SHORT_SHA_LENGTH = 8;

export interface GitRevision {
  /** Branch or tag name the build is for (GitLab's `CI_COMMIT_REF_NAME`). */
  ref: string;
  /** Full commit SHA. */
  sha: string;
  /** Git tag pointing at the commit, when there is one (GitLab's `CI_COMMIT_TAG`). */
  tag?: string | undefined;
}

/**
 * GitLab's `CI_COMMIT_REF_SLUG`: lowercased, everything except `0-9` and `a-z` replaced with `-`, shortened to 63
 * bytes, no leading or trailing `-`.
 */
export function refSlug(ref: string): string {
  return ref
    .toLowerCase()
    .replace(/[^a-z0-9]/gu, "-")
    .slice(0, 63)
    .replace(/^-+|-+$/g, "");
}

/** The seed's `echo "$CI_COMMIT_TAG" | tr _/:\  ----`: underscores, slashes, colons and spaces become dashes. */
export function sanitizeGitTag(tag: string): string {
  return tag.replace(/[_/: ]/g, "-");
}

export interface TagInput {
  git: GitRevision;
  /** The seed's `$ADDITIONAL_TAGS`. */
  additionalTags?: readonly string[] | undefined;
}

export interface ImageTags {
  /** Every tag, in the seed's order, without duplicates. */
  tags: string[];
  /** `<ref-slug>-<short-sha>`: the one tag that names this build alone, used in the deploy payload. */
  unique: string;
}

/** Computes the tags, or lists every problem with the input (path in options terms). */
export function computeTags(
  input: TagInput,
): { ok: true; value: ImageTags } | { ok: false; problems: ImageBuildProblem[] } {
  const problems: ImageBuildProblem[] = [];
  const { ref, sha, tag } = input.git;
  const slug = refSlug(ref);
  if (slug === "") {
    problems.push({
      code: "INVALID_OPTIONS",
      path: "git.ref",
      message: `ref ${JSON.stringify(ref)} has no letter or digit, so it gives an empty slug; pass the branch or tag name`,
    });
  }
  if (!SHA_PATTERN.test(sha)) {
    problems.push({
      code: "INVALID_OPTIONS",
      path: "git.sha",
      message: `${JSON.stringify(sha)} is not a commit SHA (7 to 64 hexadecimal characters)`,
    });
  }
  const tags = ["latest", `${slug}-${sha.slice(0, SHORT_SHA_LENGTH).toLowerCase()}`, slug];
  for (const [index, extra] of (input.additionalTags ?? []).entries()) {
    if (!TAG_PATTERN.test(extra)) {
      problems.push({ code: "INVALID_OPTIONS", path: `additionalTags[${index}]`, message: invalidTagMessage(extra) });
    }
    tags.push(extra);
  }
  if (tag !== undefined && tag !== "") {
    const sanitized = sanitizeGitTag(tag);
    if (!TAG_PATTERN.test(sanitized)) {
      problems.push({
        code: "INVALID_OPTIONS",
        path: "git.tag",
        message: `git tag ${JSON.stringify(tag)} becomes ${JSON.stringify(sanitized)}, which ${invalidTagMessage(sanitized).replace(/^.*? is/, "is")}`,
      });
    }
    tags.push(sanitized);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { tags: [...new Set(tags)], unique: tags[1] as string } };
}

function invalidTagMessage(tag: string): string {
  if (tag.length === 0) return "tag is empty";
  if (tag.length > 128)
    return `${JSON.stringify(tag.slice(0, 20))}… is longer than 128 characters, the most a tag may be`;
  const bad = [...tag].find((c, i) => !(i === 0 ? /[A-Za-z0-9_]/ : /[A-Za-z0-9_.-]/).test(c));
  return `${JSON.stringify(tag)} is not a valid image tag: ${JSON.stringify(bad)} is not allowed there (letters, digits, "_", "." and "-" only, not starting with "." or "-")`;
}

export interface LabelInput {
  git: GitRevision;
  /** The seed's `DRAW_VERSION` (the app's version), written as the `draw_version` label. */
  appVersion?: string | undefined;
  /** Where the source lives (repository URL); credentials in it are removed. */
  source?: string | undefined;
  created: Date;
}

/** The labels every image gets: app version, and the OCI revision, source and creation time. */
export function imageLabels(input: LabelInput): Record<string, string> {
  const labels: Record<string, string> = {};
  if (input.appVersion) labels[APP_VERSION_LABEL] = input.appVersion;
  labels[OCI_REVISION_LABEL] = input.git.sha;
  if (input.source) labels[OCI_SOURCE_LABEL] = redactSecrets(input.source).replace("***@", "");
  labels[OCI_CREATED_LABEL] = input.created.toISOString();
  return labels;
}
