/**
 * The three image kinds of seed 004 and the Dockerfiles used when a project has none in its `docker/` folder. They
 * are the seed's, with the base image as a build argument (`BASE_IMAGE`) so it can be configured. The code-as-data
 * one gives the same result as the seed's `COPY --chown=1000:1000`, `RUN chmod 775 ~/patches`,
 * `RUN chown -R 1000:1000 ~/patches` with one COPY that every builder takes (podman, Docker's classic builder and
 * BuildKit) and no shell in the base image: the sources travel as `.rollway/codeasdata/patches` whose own entry has
 * mode 775, and copying the folder that holds it creates `~/patches` with that mode.
 */

export const IMAGE_KINDS = ["frontend", "backend", "codeAsData"] as const;
export type ImageKind = (typeof IMAGE_KINDS)[number];

export interface KindDefaults {
  /** Build folder the seed's `npm run build:*` / `olympe buildCodeAsData` writes (`SOURCES_PATH`). */
  sources: string;
  /** The seed's `$DOCKERFILE`: file `docker/<name>.Dockerfile`, and suffix of the image name. */
  name: string;
  baseImage: string;
  dockerfile: string;
}

export const KIND_DEFAULTS: Readonly<Record<ImageKind, KindDefaults>> = {
  frontend: {
    sources: "dist/web",
    name: "frontend",
    baseImage: "olympeio/frontend-base:stable",
    dockerfile: [
      "ARG BASE_IMAGE=olympeio/frontend-base:stable",
      "FROM $BASE_IMAGE",
      "ARG SOURCES_PATH",
      "COPY --chown=nginx:root $SOURCES_PATH /usr/share/nginx/html",
      "",
    ].join("\n"),
  },
  backend: {
    sources: "dist/node",
    name: "backend",
    baseImage: "olympeio/backend-base:18-stable",
    dockerfile: [
      "ARG BASE_IMAGE=olympeio/backend-base:18-stable",
      "FROM $BASE_IMAGE",
      "ARG SOURCES_PATH",
      "COPY $SOURCES_PATH /home/node/app",
      "",
    ].join("\n"),
  },
  codeAsData: {
    sources: "dist/codeAsData",
    name: "codeasdata",
    baseImage: "olympeio/codeasdata-base:stable",
    dockerfile: [
      "ARG BASE_IMAGE=olympeio/codeasdata-base:stable",
      "FROM $BASE_IMAGE",
      "COPY --chown=1000:1000 .rollway/codeasdata/ /root/",
      "",
    ].join("\n"),
  },
};

/** Where the built-in code-as-data Dockerfile finds the sources in the build context (see above). */
export const CODE_AS_DATA_CONTEXT = ".rollway/codeasdata";
export const CODE_AS_DATA_MODE = 0o775;

/** Where the built-in Dockerfile is put inside the build context (never in the project itself). */
export const BUILTIN_DOCKERFILE_DIR = ".rollway";
