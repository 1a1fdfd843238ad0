/**
 * Argo CD's REST API, the two reads a promotion needs: an Application's health and sync state
 * (`GET /api/v1/applications/{name}`, with the bearer token `argocd account generate-token` gives), once for the
 * source's health check and repeatedly to wait, as `argocd app wait --sync --health`, for the target to sync to the
 * promotion and report Healthy.
 */
import { z } from "zod";
import { PromotionError } from "./errors.js";
import { redact } from "./redact.js";

/** The one path read: https://argo-cd.readthedocs.io/en/stable/developer-guide/api-docs/ (ApplicationService.Get). */
export const GET_APPLICATION = "/api/v1/applications/{name}";

export interface ArgoCdApplicationRef {
  /** Argo CD's address, e.g. https://argocd.example.com (what ARGOCD_SERVER names, with or without a scheme). */
  server: string;
  /** A bearer token (ARGOCD_AUTH_TOKEN). Never logged. */
  token: string;
  /** The Application's name. */
  application: string;
  /** The Application's namespace, when Argo CD manages Applications in several namespaces. */
  appNamespace?: string | undefined;
}

const health = z.object({ status: z.string().default("Unknown"), message: z.string().optional() }).loose();

/** The fields read; Argo CD sends many more, kept out of the way. */
const applicationSchema = z
  .object({
    metadata: z.object({ name: z.string() }).loose(),
    status: z
      .object({
        health: health.default({ status: "Unknown" }),
        sync: z
          .object({ status: z.string().default("Unknown"), revision: z.string().optional() })
          .loose()
          .default({ status: "Unknown" }),
        resources: z
          .array(
            z
              .object({
                kind: z.string().optional(),
                name: z.string().optional(),
                namespace: z.string().optional(),
                status: z.string().optional(),
                health: health.optional(),
              })
              .loose(),
          )
          .default([]),
        summary: z
          .object({ images: z.array(z.string()).default([]) })
          .loose()
          .default({ images: [] }),
        operationState: z.object({ phase: z.string().optional(), message: z.string().optional() }).loose().optional(),
      })
      .loose()
      .default({
        health: { status: "Unknown" },
        sync: { status: "Unknown" },
        resources: [],
        summary: { images: [] },
      }),
  })
  .loose();

export type ArgoCdApplication = z.infer<typeof applicationSchema>;

function applicationUrl(ref: ArgoCdApplicationRef): string {
  const base = /^https?:\/\//.test(ref.server) ? ref.server : `https://${ref.server}`;
  const path = GET_APPLICATION.replace("{name}", encodeURIComponent(ref.application));
  const query = ref.appNamespace ? `?appNamespace=${encodeURIComponent(ref.appNamespace)}` : "";
  return `${base.replace(/\/+$/, "")}${path}${query}`;
}

export async function getApplication(ref: ArgoCdApplicationRef, signal?: AbortSignal): Promise<ArgoCdApplication> {
  const url = applicationUrl(ref);
  const where = `Argo CD application ${ref.application} (${redact(url, [ref.token])})`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${ref.token}`, accept: "application/json" },
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new PromotionError(
      "ARGOCD_REQUEST_FAILED",
      `Could not reach ${where}: ${redact(String((error as { cause?: unknown }).cause ?? error), [ref.token])}.`,
      "check the Argo CD address (ARGOCD_SERVER) and that it is reachable from here.",
    );
  }
  const text = await response.text();
  if (!response.ok) {
    let said = "";
    try {
      said = String((JSON.parse(text) as { message?: unknown }).message ?? "");
    } catch {
      said = text.slice(0, 200);
    }
    const hint =
      response.status === 401 || response.status === 403
        ? "the Argo CD token is invalid or may not read this application: give it applications, get on the project (ARGOCD_AUTH_TOKEN)."
        : response.status === 404
          ? "check the application's name (argocd app list)."
          : "check that Argo CD is up, then run again.";
    throw new PromotionError(
      "ARGOCD_REQUEST_FAILED",
      `${where} answered HTTP ${response.status}${said ? `: ${redact(said, [ref.token])}` : ""}.`,
      hint,
      { status: response.status },
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new PromotionError("ARGOCD_REQUEST_FAILED", `${where} did not answer JSON.`, "check the Argo CD address.");
  }
  const parsed = applicationSchema.safeParse(body);
  if (!parsed.success) {
    throw new PromotionError(
      "ARGOCD_REQUEST_FAILED",
      `${where} answered something that is not an Application: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}.`,
      "check the Argo CD address: it should be Argo CD's API server.",
    );
  }
  return parsed.data;
}

/** The resources of an application that are not Healthy (those that report a health at all), as `Kind/name: status`. */
export function unhealthyResources(app: ArgoCdApplication): { component: string; reason: string }[] {
  return app.status.resources
    .filter((r) => r.health && r.health.status !== "Healthy")
    .map((r) => ({
      component: `${r.kind ?? "resource"}/${r.name ?? "?"}`,
      reason: `${r.health?.status}${r.health?.message ? `: ${r.health.message}` : ""}`,
    }));
}
