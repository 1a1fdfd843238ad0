/**
 * Before a promotion: is the source environment actually healthy, and running the images being promoted? Promoting
 * what staging pins in git says nothing about what staging serves: a Degraded rollout, a release still waiting for
 * approval, or an Argo CD application out of sync all mean QA may have tested something else. Each check reads one
 * view of the source (rollway's own status of the environment in its cluster, or an Argo CD Application) and lists
 * what is wrong; any problem refuses the promotion with SOURCE_UNHEALTHY, naming the component.
 */
import { type ArgoCdApplicationRef, getApplication, unhealthyResources } from "./argocd.js";
import { PromotionError } from "./errors.js";
import { formatImageReference, type OverlayImage } from "./kustomization.js";

export interface SourceProblem {
  /** The component (or Argo CD resource, `Kind/name`) that is wrong. */
  component: string;
  reason: string;
}

/** One view of the source environment's health. */
export interface SourceCheck {
  /** What is read, for messages: `rollway status of staging`, `Argo CD application shop-staging`. */
  readonly name: string;
  /** The problems found with `env` running `images`; none when healthy. */
  check(input: { env: string; images: readonly OverlayImage[]; signal?: AbortSignal }): Promise<SourceProblem[]>;
}

/** A component as rollway's status reads it (`ReleaseEngine.status(environment).components`). */
export interface ComponentHealth {
  component: string;
  /** Healthy, Progressing, Paused, Degraded or Aborted. */
  phase: string;
  message?: string;
  /** The images the spec asks for. */
  images: readonly { container: string; image: string }[];
  /** The images users are served, when known. */
  stableImages?: readonly { container: string; image: string }[] | undefined;
}

/** `name[:tag][@digest]` split into its repository, tag and digest. */
function splitImage(ref: string): { repository: string; tag?: string; digest?: string } {
  const at = ref.indexOf("@");
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const colon = named.lastIndexOf(":");
  const hasTag = colon > named.lastIndexOf("/");
  return {
    repository: normaliseRepository(hasTag ? named.slice(0, colon) : named),
    ...(hasTag ? { tag: named.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

// docker.io/library/redis, docker.io/redis and redis are one repository, as every engine reads them.
function normaliseRepository(repository: string): string {
  const first = repository.split("/")[0] ?? "";
  const hasRegistry = repository.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  const full = hasRegistry ? repository : `docker.io/${repository}`;
  return full
    .replace(/^(?:index\.)?docker\.io\/(?=[^/]+$)/, "docker.io/library/")
    .replace(/^index\.docker\.io\//, "docker.io/");
}

/** Whether `served` is the promoted image: the same repository, and the same digest (when pinned) and tag. */
function sameImage(promoted: OverlayImage, served: string): boolean {
  const s = splitImage(served);
  if (promoted.digest && s.digest) return promoted.digest === s.digest;
  if (promoted.digest && !s.digest) return false;
  return promoted.newTag === undefined || promoted.newTag === s.tag;
}

function repositoryOf(image: OverlayImage): string {
  return splitImage(image.newName ?? image.name).repository;
}

/**
 * The problems of a status: each component not Healthy, and each component serving another version of an image being
 * promoted (same repository, other tag or digest). Images no component runs (a platform image) are not judged here.
 */
function componentProblems(components: readonly ComponentHealth[], images: readonly OverlayImage[]): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const promoted = new Map(images.map((i) => [repositoryOf(i), i]));
  for (const c of components) {
    if (c.phase !== "Healthy") {
      problems.push({ component: c.component, reason: `is ${c.phase}${c.message ? ` (${c.message})` : ""}` });
      continue;
    }
    for (const served of c.stableImages ?? c.images) {
      const image = promoted.get(splitImage(served.image).repository);
      if (image && !sameImage(image, served.image)) {
        problems.push({
          component: c.component,
          reason: `serves ${served.image}, not ${formatImageReference(image)} which is being promoted`,
        });
      }
    }
  }
  return problems;
}

/** rollway's own status of the source environment, read by `read` (e.g. `() => engine.status(environment)`). */
export function componentStatusCheck(options: {
  name: string;
  read: (signal?: AbortSignal) => Promise<{ components: readonly ComponentHealth[] }>;
}): SourceCheck {
  return {
    name: options.name,
    async check({ images, signal }) {
      const status = await options.read(signal);
      return componentProblems(status.components, images);
    },
  };
}

/**
 * An Argo CD Application of the source: Synced and Healthy, each resource that reports a health Healthy, and, when
 * Argo CD lists the application's images, every image being promoted among them.
 */
export function argoCdHealthCheck(ref: ArgoCdApplicationRef): SourceCheck {
  return {
    name: `Argo CD application ${ref.application}`,
    async check({ images, signal }) {
      const app = await getApplication(ref, signal);
      const problems: SourceProblem[] = [];
      const { health, sync, summary } = app.status;
      const resources = unhealthyResources(app);
      problems.push(...resources);
      if (health.status !== "Healthy" && resources.length === 0) {
        problems.push({
          component: ref.application,
          reason: `is ${health.status}${health.message ? ` (${health.message})` : ""}`,
        });
      }
      if (sync.status !== "Synced") {
        problems.push({ component: ref.application, reason: `is ${sync.status}: what runs is not what git says` });
      }
      if (summary.images.length > 0) {
        for (const image of images) {
          const repository = repositoryOf(image);
          const running = summary.images.filter((s) => splitImage(s).repository === repository);
          if (running.length > 0 && !running.some((s) => sameImage(image, s))) {
            problems.push({
              component: image.name,
              reason: `runs ${running.join(", ")}, not ${formatImageReference(image)} which is being promoted`,
            });
          }
        }
      }
      return problems;
    },
  };
}

/** Runs every check; refuses with SOURCE_UNHEALTHY naming each unhealthy component. */
export async function sourceHealthRefusal(
  checks: readonly SourceCheck[],
  input: { env: string; images: readonly OverlayImage[]; signal?: AbortSignal },
): Promise<PromotionError | undefined> {
  const found: { check: string; problem: SourceProblem }[] = [];
  for (const check of checks) {
    for (const problem of await check.check(input)) found.push({ check: check.name, problem });
  }
  if (found.length === 0) return undefined;
  const components = [...new Set(found.map((f) => f.problem.component))];
  return new PromotionError(
    "SOURCE_UNHEALTHY",
    `${input.env} is not healthy, so what QA approved may not be what it runs:\n${found
      .map((f) => `  ${f.problem.component} ${f.problem.reason} (${f.check})`)
      .join("\n")}`,
    `wait until ${input.env} is Healthy and serves the images being promoted, or skip this check explicitly (skipHealthCheck: true; the CLI's --skip-health-check).`,
    { components },
  );
}
