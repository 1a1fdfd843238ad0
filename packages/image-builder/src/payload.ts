/**
 * The images' part of the deploy payload (seed 004): what the seed's CI collects by hand into `build.env`
 * (`FRONTEND_IMAGE`, `BACKEND_IMAGE`, `CODEASDATA_IMAGE`) and merges into the payload with jq.
 */
import type { ImageKind } from "./dockerfiles.js";

export interface PayloadImages {
  frontend?: { image: string };
  backends?: { images: string[] };
  codeAsData?: { image: string };
}

export function toPayloadImages(images: readonly { kind: ImageKind; reference: string }[]): PayloadImages {
  const payload: PayloadImages = {};
  for (const { kind, reference } of images) {
    if (kind === "frontend") payload.frontend = { image: reference };
    else if (kind === "codeAsData") payload.codeAsData = { image: reference };
    else payload.backends = { images: [...(payload.backends?.images ?? []), reference] };
  }
  return payload;
}

/**
 * Puts the images into a payload written without them (the seed's `PAYLOAD` with deploy rules and modes), as the
 * seed's jq lines do: `.codeAsData.image = …`, `.backends.images += […]`, `.frontend.image = …`. Returns a new object.
 */
export function mergePayloadImages<T extends Record<string, unknown>>(template: T, images: PayloadImages): T {
  const merged: Record<string, unknown> = structuredClone(template);
  const section = (key: string): Record<string, unknown> => {
    const value = merged[key];
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  };
  if (images.codeAsData) merged.codeAsData = { ...section("codeAsData"), image: images.codeAsData.image };
  if (images.backends) {
    const existing = section("backends").images;
    const before = Array.isArray(existing) ? existing : [];
    merged.backends = { ...section("backends"), images: [...before, ...images.backends.images] };
  }
  if (images.frontend) merged.frontend = { ...section("frontend"), image: images.frontend.image };
  return merged as T;
}

/**
 * The seed's `build.env` lines (`FRONTEND_IMAGE=…`, `BACKEND_IMAGE=…`, `CODEASDATA_IMAGE=…`) for CI systems that
 * hand variables between jobs as a dotenv file. More backends get `BACKEND_IMAGE_2`, … which the seed's deploy job
 * picks up too (it reads every variable containing `BACKEND_IMAGE`).
 */
export function toBuildEnv(images: readonly { kind: ImageKind; reference: string }[]): string {
  const lines: string[] = [];
  let backends = 0;
  for (const { kind, reference } of images) {
    if (kind === "frontend") lines.push(`FRONTEND_IMAGE=${reference}`);
    else if (kind === "codeAsData") lines.push(`CODEASDATA_IMAGE=${reference}`);
    else {
      backends += 1;
      lines.push(`BACKEND_IMAGE${backends === 1 ? "" : `_${backends}`}=${reference}`);
    }
  }
  return lines.map((line) => `${line}\n`).join("");
}
