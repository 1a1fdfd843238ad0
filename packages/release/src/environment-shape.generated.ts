// Generated from EnvironmentSchema (environment.ts) by shape-of-zod.ts: `pnpm schema` rewrites it.
import type { Shape } from "./shape-check.js";

const s0: Shape = {
  type: "string",
  checks: [
    { kind: "max_length", n: 63 },
    { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
  ],
};
const s1: Shape = {
  type: "string",
  checks: [
    { kind: "regex", pattern: /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/ },
  ],
};
const s2: Shape = {
  type: "number",
  checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: false }],
};
const s3: Shape = { type: "default", value: 600, inner: s2 };
const s4: Shape = { type: "optional", inner: s2 };
const s5: Shape = { type: "literal", values: ["Rollout", "Canary", "Deployment"] };
const s6: Shape = {
  type: "string",
  checks: [
    { kind: "max_length", n: 253 },
    { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/ },
  ],
};
const s7: Shape = { type: "object", unknownKeys: "strict", shape: { kind: s5, name: s6 } };
const s8: Shape = { type: "default", value: false, inner: { type: "boolean" } };
const s9: Shape = { type: "default", value: 30, inner: s2 };
const s10: Shape = {
  type: "object",
  unknownKeys: "strict",
  shape: {
    type: { type: "literal", values: ["blueGreen"] },
    activeService: s6,
    previewService: s6,
    autoPromotion: s8,
    scaleDownDelaySeconds: s9,
    previewReplicaCount: s4,
  },
};
const s11: Shape = {
  type: "number",
  checks: [
    { kind: "safeint" },
    { kind: "greater_than", value: 0, inclusive: true },
    { kind: "less_than", value: 100, inclusive: true },
  ],
};
const s12: Shape = { type: "object", unknownKeys: "strict", shape: { setWeight: s11 } };
const s13: Shape = { type: "object", unknownKeys: "strict", shape: { durationSeconds: s4 } };
const s14: Shape = { type: "object", unknownKeys: "strict", shape: { pause: s13 } };
const s15: Shape = { type: "union", options: [s12, s14] };
const s16: Shape = { type: "array", element: s15, checks: [{ kind: "min_length", n: 1 }] };
const s17: Shape = { type: "optional", inner: s6 };
const s18: Shape = { type: "array", element: s6, checks: [{ kind: "min_length", n: 1 }] };
const s19: Shape = { type: "object", unknownKeys: "strict", shape: { templates: s18 } };
const s20: Shape = { type: "optional", inner: s19 };
const s21: Shape = {
  type: "object",
  unknownKeys: "strict",
  shape: {
    type: { type: "literal", values: ["canary"] },
    steps: s16,
    stableService: s17,
    canaryService: s17,
    analysis: s20,
  },
};
const s22: Shape = {
  type: "number",
  checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: true }],
};
const s23: Shape = { type: "string", checks: [{ kind: "regex", pattern: /^\d{1,3}%$/ }] };
const s24: Shape = { type: "union", options: [s22, s23] };
const s25: Shape = { type: "default", value: "25%", inner: s24 };
const s26: Shape = { type: "default", value: 0, inner: s24 };
const s27: Shape = {
  type: "object",
  unknownKeys: "strict",
  shape: { type: { type: "literal", values: ["rolling"] }, maxSurge: s25, maxUnavailable: s26 },
};
const s28: Shape = {
  type: "object",
  unknownKeys: "strict",
  shape: { type: { type: "literal", values: ["recreate"] } },
};
const s29: Shape = { type: "union", options: [s10, s21, s27, s28] };
const s30: Shape = {
  type: "string",
  checks: [
    { kind: "max_length", n: 63 },
    { kind: "regex", pattern: /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/ },
  ],
};
const s31: Shape = {
  type: "record",
  key: s30,
  value: { type: "string" },
  checks: [{ kind: "refine", name: "isSingleVersionEntry" }],
};
const s32: Shape = { type: "array", element: s31, checks: [{ kind: "min_length", n: 1 }] };
const s33: Shape = { type: "object", unknownKeys: "strict", shape: { current: s30, next: s30, configs: s32 } };
const s34: Shape = { type: "union", options: [{ type: "string" }, s33] };
const s35: Shape = { type: "optional", inner: s34 };
const s36: Shape = { type: "string", checks: [{ kind: "regex", pattern: /^\/[^:]*$/ }] };
const s37: Shape = { type: "default", value: "/etc/rollway/oconfig", inner: s36 };
const s38: Shape = {
  type: "object",
  unknownKeys: "strict",
  shape: { workload: s7, container: s0, strategy: s29, oConfig: s35, oConfigMountPath: s37 },
};
const s39: Shape = { type: "record", key: { type: "string" }, value: { type: "string" } };
const s40: Shape = { type: "optional", inner: s39 };
const s41: Shape = { type: "object", unknownKeys: "strict", shape: { labels: s40, annotations: s40 } };
const s42: Shape = { type: "optional", inner: s41 };
const s43: Shape = { type: "optional", inner: s22 };
const s44: Shape = { type: "optional", inner: { type: "object", unknownKeys: "loose", shape: {} } };
const s45: Shape = { type: "optional", inner: { type: "literal", values: ["Never", "OnFailure"] } };
const s46: Shape = { type: "optional", inner: { type: "string", checks: [{ kind: "min_length", n: 1 }] } };
const s47: Shape = { type: "object", unknownKeys: "loose", shape: { name: s0, image: s46 } };
const s48: Shape = { type: "array", element: s47, checks: [{ kind: "min_length", n: 1 }] };
const s49: Shape = { type: "object", unknownKeys: "loose", shape: { restartPolicy: s45, containers: s48 } };
const s50: Shape = { type: "object", unknownKeys: "loose", shape: { metadata: s44, spec: s49 } };
const s51: Shape = {
  type: "object",
  unknownKeys: "loose",
  shape: { backoffLimit: s43, activeDeadlineSeconds: s4, ttlSecondsAfterFinished: s43, template: s50 },
};
const s52: Shape = { type: "object", unknownKeys: "strict", shape: { metadata: s42, spec: s51 } };
const s53: Shape = { type: "optional", inner: s0 };

export const ENVIRONMENT_SHAPE: Shape = {
  type: "object",
  unknownKeys: "strict",
  shape: {
    apiVersion: { type: "literal", values: ["rollway.dev/v1alpha1"] },
    kind: { type: "literal", values: ["Environment"] },
    name: s0,
    namespace: s0,
    host: s1,
    previewHost: { type: "optional", inner: s1 },
    noDowntime: { type: "default", value: true, inner: { type: "boolean" } },
    promotion: {
      type: "default",
      value: { mode: "manual", readyTimeoutSeconds: 600 },
      inner: {
        type: "object",
        unknownKeys: "strict",
        shape: {
          mode: { type: "default", value: "manual", inner: { type: "literal", values: ["auto", "manual"] } },
          readyTimeoutSeconds: s3,
          approvalTimeoutSeconds: s4,
        },
      },
    },
    frontend: { type: "optional", inner: s38 },
    backends: { type: "default", value: {}, inner: { type: "record", key: s0, value: s38 } },
    codeAsData: {
      type: "optional",
      inner: {
        type: "object",
        unknownKeys: "strict",
        shape: { job: s52, container: s0, timeoutSeconds: { type: "default", value: 1800, inner: s2 } },
      },
    },
    platform: {
      type: "default",
      value: [],
      inner: {
        type: "array",
        element: {
          type: "object",
          unknownKeys: "strict",
          shape: {
            name: s0,
            workload: s7,
            container: s0,
            image: {
              type: "string",
              checks: [
                { kind: "min_length", n: 1 },
                { kind: "refine", name: "isUntaggedImage" },
              ],
            },
            stableVersion: { type: "string", checks: [{ kind: "regex", pattern: /^[\w][\w.-]{0,127}$/ }] },
          },
        },
      },
    },
    hooks: {
      type: "default",
      value: { preRelease: [], migration: [] },
      inner: {
        type: "object",
        unknownKeys: "strict",
        shape: {
          preRelease: {
            type: "default",
            value: [],
            inner: {
              type: "array",
              element: {
                type: "object",
                unknownKeys: "strict",
                shape: { name: s0, job: s52, container: s53, imageFrom: s53, timeoutSeconds: s3 },
              },
            },
          },
          migration: {
            type: "default",
            value: [],
            inner: {
              type: "array",
              element: {
                type: "object",
                unknownKeys: "strict",
                shape: { name: s0, job: s52, container: s53, imageFrom: s53, timeoutSeconds: s3, for: s0 },
              },
            },
          },
        },
      },
    },
  },
};
