/** The OpenAPI 3.1 document, built from the same zod schemas that validate (JSON Schema 2020-12 is OpenAPI 3.1's). */
import { deployPayloadJsonSchema } from "@rollway/payload-schema";

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

export function openApiDocument() {
  const { $schema: _drop, $id: _id, ...payloadSchema } = deployPayloadJsonSchema();
  return {
    openapi: "3.1.0",
    info: { title: "rollway webhook server", version: "0.1.0" },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { DeployPayload: payloadSchema, Problem: problem },
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
