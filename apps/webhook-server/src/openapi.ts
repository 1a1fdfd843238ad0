/** The OpenAPI 3.1 document, built from the same zod schemas that validate (JSON Schema 2020-12 is OpenAPI 3.1's). */
import { deployPayloadJsonSchema } from "@rollway/payload-schema";
import { z } from "zod";

/** Answers of the release routes, as zod schemas so that the document is generated, not written by hand. */
const Accepted = z.object({
  message: z.literal("success"),
  releaseId: z.string(),
  statusUrl: z.string(),
  eventsUrl: z.string(),
  duplicate: z.boolean().optional().describe("true when this delivery repeats an accepted one"),
  rollbackOf: z.string().optional(),
});
const ReleaseSummary = z.object({
  id: z.string(),
  state: z.enum([
    "queued",
    "applying",
    "waiting-for-approval",
    "promoting",
    "promoted",
    "aborting",
    "aborted",
    "failed",
    "rolled-back",
  ]),
  payloadDigest: z.string().optional(),
  startedAt: z.string().optional(),
  updatedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  reason: z.string().optional(),
  rollbackOf: z.string().optional(),
  approvals: z
    .array(
      z.object({
        gate: z.string(),
        by: z.string(),
        at: z.string(),
        ackedBy: z.string().optional().describe("the engine that acknowledged the approval (it acts on it)"),
        ackedAt: z.string().optional(),
      }),
    )
    .optional(),
  components: z.array(z.object({ name: z.string(), from: z.string().optional(), to: z.string() })).optional(),
});
const EnvironmentStatus = z.object({
  message: z.literal("ok"),
  environment: z.string(),
  namespace: z.string(),
  release: ReleaseSummary.nullable().describe("the newest release of the environment"),
  components: z
    .array(
      z.looseObject({
        component: z.string(),
        kind: z.string(),
        name: z.string(),
        phase: z.enum(["Healthy", "Progressing", "Paused", "Degraded", "Aborted"]),
        message: z.string(),
        readyReplicas: z.number(),
        desiredReplicas: z.number(),
        updatedReplicas: z.number(),
        updatedReadyReplicas: z.number().optional(),
        images: z.array(z.object({ container: z.string(), image: z.string() })),
      }),
    )
    .describe("every component's workload, frontend first"),
});
const Locked = z.object({ message: z.string(), runningRelease: z.string().optional() });
const Decision = z.object({ by: z.string().min(1).max(100).optional() });
const CanaryWebhookPayload = z.looseObject({ name: z.string(), namespace: z.string() });
const schema = (t: z.ZodType) => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(t, { io: "input" }) as Record<string, unknown>;
  return rest;
};

const problem = {
  type: "object",
  required: ["path", "message"],
  properties: {
    path: { type: "string" },
    message: { type: "string" },
    line: { type: "integer" },
    column: { type: "integer" },
  },
};
const message = (description: string) => ({
  description,
  content: {
    "application/json": {
      schema: { type: "object", required: ["message"], properties: { message: { type: "string" } } },
    },
  },
});

const BASE = "/v1/projects/{project}/environments/{environment}";
const placeParameters = ["project", "environment"].map((name) => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string" },
}));
const releaseParameters = [
  ...placeParameters,
  { name: "release", in: "path", required: true, schema: { type: "string" } },
];
const json = (description: string, ref: string) => ({
  description,
  content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const jsonList = (description: string, ref: string) => ({
  description,
  content: {
    "application/json": {
      schema: {
        type: "object",
        properties: {
          message: { type: "string" },
          releases: { type: "array", items: { $ref: `#/components/schemas/${ref}` } },
        },
      },
    },
  },
});

export function openApiDocument() {
  const { $schema: _drop, $id: _id, ...payloadSchema } = deployPayloadJsonSchema();
  return {
    openapi: "3.1.0",
    info: { title: "rollway webhook server", version: "0.1.0" },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        DeployPayload: payloadSchema,
        Problem: problem,
        Accepted: schema(Accepted),
        ReleaseSummary: schema(ReleaseSummary),
        EnvironmentStatus: schema(EnvironmentStatus),
        Locked: schema(Locked),
        Decision: schema(Decision),
        CanaryWebhookPayload: schema(CanaryWebhookPayload),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      "/v1/projects/{project}/environments/{environment}/validate": {
        post: {
          summary: "Validate a deploy payload (a dry run: nothing is deployed)",
          parameters: ["project", "environment"].map((name) => ({
            name,
            in: "path",
            required: true,
            schema: { type: "string" },
          })),
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/DeployPayload" } } },
          },
          responses: {
            200: message("The payload is valid; `payload` holds it with defaults applied"),
            400: {
              description: "Every problem with its path (and line and column)",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      message: { type: "string" },
                      problems: { type: "array", items: { $ref: "#/components/schemas/Problem" } },
                    },
                  },
                },
              },
            },
            401: message("Missing or unknown token, or a bad signature"),
            403: message("The token may not do this here"),
            413: message("The body is too large"),
            415: message("Content-Type is not application/json"),
            429: message("Too many requests from this token"),
          },
        },
      },
      [`${BASE}/deploy`]: {
        post: {
          summary: "Deploy a payload (seed 004): accepted once the release runs or is queued",
          parameters: [
            ...placeParameters,
            { name: "queue", in: "query", schema: { type: "boolean", default: true } },
            { name: "Idempotency-Key", in: "header", schema: { type: "string", maxLength: 255 } },
          ],
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/DeployPayload" } } },
          },
          responses: {
            200: json("Accepted", "Accepted"),
            400: message("Every payload or plan problem, with its path"),
            401: message("Missing or unknown token, or a bad signature"),
            403: message("The token may not deploy here"),
            404: message("No such environment for this project"),
            409: json("A release runs and `queue=false`; or the environment in the cluster is invalid", "Locked"),
            422: message("The Idempotency-Key was used with another payload"),
          },
        },
      },
      [`${BASE}/status`]: {
        get: {
          summary: "Every component's workload status and the newest release",
          parameters: placeParameters,
          responses: {
            200: json("The environment's status", "EnvironmentStatus"),
            404: message("No such environment for this project"),
          },
        },
      },
      [`${BASE}/upgrades`]: {
        get: {
          summary:
            "Public (no token, allowed origins only): `current` (the release serving now), then `upgrade-done` for each promotion, as Server-Sent Events",
          security: [],
          parameters: placeParameters,
          responses: {
            200: { description: "text/event-stream", content: { "text/event-stream": {} } },
            403: message("The page's origin is not allowed"),
            404: message("The stream is off (no origins configured) or no such environment"),
          },
        },
      },
      [`${BASE}/releases`]: {
        get: {
          summary: "Release history, newest first",
          parameters: placeParameters,
          responses: { 200: jsonList("Releases", "ReleaseSummary") },
        },
      },
      [`${BASE}/releases/{release}`]: {
        get: {
          summary: "One release",
          parameters: releaseParameters,
          responses: { 200: json("The release", "ReleaseSummary"), 404: message("No such release here") },
        },
      },
      [`${BASE}/releases/{release}/events`]: {
        get: {
          summary: "The release's events as Server-Sent Events (resume with Last-Event-ID)",
          parameters: [...releaseParameters, { name: "Last-Event-ID", in: "header", schema: { type: "string" } }],
          responses: { 200: { description: "text/event-stream", content: { "text/event-stream": {} } } },
        },
      },
      ...Object.fromEntries(
        ["promote", "abort", "rollback", "approve-code-as-data"].map((decision) => [
          `${BASE}/releases/{release}/${decision}`,
          {
            post: {
              summary: `${decision} (approve scope)`,
              parameters: releaseParameters,
              requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Decision" } } } },
              responses: {
                200: message("Recorded (rollback: the new release, as for deploy)"),
                404: message("No such release here"),
                409: message("The release is finished, or not promoted (rollback)"),
              },
            },
          },
        ]),
      ),
      ...Object.fromEntries(
        [
          "gate/check",
          "rollback/check",
          "gate/halt",
          "gate/approve",
          "gate/open",
          "gate/close",
          "rollback/open",
          "rollback/close",
        ].map((path) => [
          `${BASE}/flagger/${path}`,
          {
            post: {
              summary: `flagger-loadtester's ${path}`,
              parameters: placeParameters,
              ...(path.endsWith("check") || path.startsWith("gate/halt") || path.startsWith("gate/approve")
                ? { security: [] }
                : {}),
              requestBody: {
                content: { "application/json": { schema: { $ref: "#/components/schemas/CanaryWebhookPayload" } } },
              },
              responses: path.endsWith("check")
                ? { 200: { description: "Open" }, 403: { description: "Closed" } }
                : {
                    202: { description: "Recorded" },
                    200: { description: "Open" },
                    403: { description: "Closed or forbidden" },
                  },
            },
          },
        ]),
      ),
      "/healthz": { get: { summary: "Liveness", security: [], responses: { 200: message("Alive") } } },
      "/readyz": {
        get: {
          summary: "Readiness",
          security: [],
          responses: { 200: message("Ready"), 503: message("Shutting down") },
        },
      },
      "/metrics": {
        get: { summary: "Prometheus metrics", security: [], responses: { 200: { description: "Metrics text" } } },
      },
    },
  };
}
