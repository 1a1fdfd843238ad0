/** Why an image could not be built or pushed. Messages say what is wrong, where, and how to fix it; never a secret. */
export type ImageBuildErrorCode =
  | "INVALID_OPTIONS"
  | "SOURCES_NOT_FOUND"
  | "DOCKERFILE_NOT_FOUND"
  | "DOCKER_CONFIG_INVALID"
  | "CREDENTIAL_HELPER_FAILED"
  | "ENGINE_UNREACHABLE"
  | "BUILD_FAILED"
  | "PUSH_FAILED"
  | "AUTH_FAILED"
  | "GIT_FAILED"
  | "ABORTED";

export interface ImageBuildProblem {
  code: ImageBuildErrorCode;
  /** Where the problem is, in options terms (`images[1].sources`, `git.tag`) or a file path. */
  path: string;
  message: string;
}

/** The build step that failed, as the engine numbered it (`STEP 3/4: COPY dist/web /usr/share/nginx/html`). */
export interface FailedStep {
  number: number;
  total: number;
  instruction: string;
}

export class ImageBuildError extends Error {
  override readonly name = "ImageBuildError";
  readonly code: ImageBuildErrorCode;
  readonly problems: readonly ImageBuildProblem[];
  /** Set for BUILD_FAILED when the engine said which step it was running. */
  readonly step: FailedStep | undefined;
  /** The image (repository) the error is about, when there is one. */
  readonly image: string | undefined;
  /** For a push that failed part-way: the references pushed before it (empty when nothing moved). */
  readonly pushed: readonly string[];

  constructor(
    problems: ImageBuildProblem[],
    options?: {
      cause?: unknown;
      step?: FailedStep | undefined;
      image?: string | undefined;
      pushed?: readonly string[] | undefined;
    },
  ) {
    const first = problems[0];
    if (!first) throw new TypeError("ImageBuildError needs at least one problem");
    const message =
      problems.length === 1
        ? `${first.path}: ${first.message}`
        : `${problems.length} problems:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`;
    super(redactSecrets(message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = first.code;
    this.problems = problems.map((p) => ({ ...p, message: redactSecrets(p.message) }));
    this.step = options?.step;
    this.image = options?.image;
    this.pushed = options?.pushed ?? [];
  }
}

/** Single-problem shorthand. */
export function imageBuildError(
  code: ImageBuildErrorCode,
  path: string,
  message: string,
  options?: { cause?: unknown; step?: FailedStep; image?: string; pushed?: readonly string[] },
): ImageBuildError {
  return new ImageBuildError([{ code, path, message }], options);
}

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi;

/** Credentials inside URLs (`https://user:token@host`) never reach a message or a label. */
export function redactSecrets(text: string): string {
  return text.replace(URL_CREDENTIALS, "$1***@");
}
