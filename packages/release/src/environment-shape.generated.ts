// Generated from EnvironmentSchema (environment.ts) by shape-of-zod.ts: `pnpm schema` rewrites it.
import type { Shape } from "./shape-check.js";

const s0: Shape = {
  type: "object",
  unknownKeys: "strict",
  shape: {
    kind: { type: "literal", values: ["Rollout", "Canary", "Deployment"] },
    name: {
      type: "string",
      checks: [
        { kind: "max_length", n: 253 },
        { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/ },
      ],
    },
  },
};
const s1: Shape = {
  type: "union",
  options: [
    { type: "number", checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: true }] },
    { type: "string", checks: [{ kind: "regex", pattern: /^\d{1,3}%$/ }] },
  ],
};
const s2: Shape = {
  type: "object",
  unknownKeys: "strict",
  shape: {
    workload: s0,
    container: {
      type: "string",
      checks: [
        { kind: "max_length", n: 63 },
        { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
      ],
    },
    strategy: {
      type: "union",
      options: [
        {
          type: "object",
          unknownKeys: "strict",
          shape: {
            type: { type: "literal", values: ["blueGreen"] },
            activeService: {
              type: "string",
              checks: [
                { kind: "max_length", n: 253 },
                { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/ },
              ],
            },
            previewService: {
              type: "string",
              checks: [
                { kind: "max_length", n: 253 },
                { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/ },
              ],
            },
            autoPromotion: { type: "default", value: false, inner: { type: "boolean" } },
            scaleDownDelaySeconds: {
              type: "default",
              value: 30,
              inner: {
                type: "number",
                checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: false }],
              },
            },
            previewReplicaCount: {
              type: "optional",
              inner: {
                type: "number",
                checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: false }],
              },
            },
          },
        },
        {
          type: "object",
          unknownKeys: "strict",
          shape: {
            type: { type: "literal", values: ["canary"] },
            steps: {
              type: "array",
              element: {
                type: "union",
                options: [
                  {
                    type: "object",
                    unknownKeys: "strict",
                    shape: {
                      setWeight: {
                        type: "number",
                        checks: [
                          { kind: "safeint" },
                          { kind: "greater_than", value: 0, inclusive: true },
                          { kind: "less_than", value: 100, inclusive: true },
                        ],
                      },
                    },
                  },
                  {
                    type: "object",
                    unknownKeys: "strict",
                    shape: {
                      pause: {
                        type: "object",
                        unknownKeys: "strict",
                        shape: {
                          durationSeconds: {
                            type: "optional",
                            inner: {
                              type: "number",
                              checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: false }],
                            },
                          },
                        },
                      },
                    },
                  },
                ],
              },
              checks: [{ kind: "min_length", n: 1 }],
            },
            stableService: {
              type: "optional",
              inner: {
                type: "string",
                checks: [
                  { kind: "max_length", n: 253 },
                  { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/ },
                ],
              },
            },
            canaryService: {
              type: "optional",
              inner: {
                type: "string",
                checks: [
                  { kind: "max_length", n: 253 },
                  { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/ },
                ],
              },
            },
            analysis: {
              type: "optional",
              inner: {
                type: "object",
                unknownKeys: "strict",
                shape: {
                  templates: {
                    type: "array",
                    element: {
                      type: "string",
                      checks: [
                        { kind: "max_length", n: 253 },
                        { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/ },
                      ],
                    },
                    checks: [{ kind: "min_length", n: 1 }],
                  },
                },
              },
            },
          },
        },
        {
          type: "object",
          unknownKeys: "strict",
          shape: {
            type: { type: "literal", values: ["rolling"] },
            maxSurge: { type: "default", value: "25%", inner: s1 },
            maxUnavailable: { type: "default", value: 0, inner: s1 },
          },
        },
        { type: "object", unknownKeys: "strict", shape: { type: { type: "literal", values: ["recreate"] } } },
      ],
    },
    oConfig: {
      type: "optional",
      inner: {
        type: "union",
        options: [
          { type: "string" },
          {
            type: "object",
            unknownKeys: "strict",
            shape: {
              current: {
                type: "string",
                checks: [
                  { kind: "max_length", n: 63 },
                  { kind: "regex", pattern: /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/ },
                ],
              },
              next: {
                type: "string",
                checks: [
                  { kind: "max_length", n: 63 },
                  { kind: "regex", pattern: /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/ },
                ],
              },
              configs: {
                type: "array",
                element: {
                  type: "record",
                  key: {
                    type: "string",
                    checks: [
                      { kind: "max_length", n: 63 },
                      { kind: "regex", pattern: /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/ },
                    ],
                  },
                  value: { type: "string" },
                  checks: [{ kind: "refine", name: "isSingleVersionEntry" }],
                },
                checks: [{ kind: "min_length", n: 1 }],
              },
            },
          },
        ],
      },
    },
    oConfigMountPath: {
      type: "default",
      value: "/etc/rollway/oconfig",
      inner: { type: "string", checks: [{ kind: "regex", pattern: /^\/[^:]*$/ }] },
    },
  },
};
const s3: Shape = { type: "record", key: { type: "string" }, value: { type: "string" } };
const s4: Shape = {
  type: "object",
  unknownKeys: "strict",
  shape: {
    metadata: {
      type: "optional",
      inner: {
        type: "object",
        unknownKeys: "strict",
        shape: { labels: { type: "optional", inner: s3 }, annotations: { type: "optional", inner: s3 } },
      },
    },
    spec: {
      type: "object",
      unknownKeys: "loose",
      shape: {
        backoffLimit: {
          type: "optional",
          inner: { type: "number", checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: true }] },
        },
        activeDeadlineSeconds: {
          type: "optional",
          inner: {
            type: "number",
            checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: false }],
          },
        },
        ttlSecondsAfterFinished: {
          type: "optional",
          inner: { type: "number", checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: true }] },
        },
        template: {
          type: "object",
          unknownKeys: "loose",
          shape: {
            metadata: { type: "optional", inner: { type: "object", unknownKeys: "loose", shape: {} } },
            spec: {
              type: "object",
              unknownKeys: "loose",
              shape: {
                restartPolicy: { type: "optional", inner: { type: "literal", values: ["Never", "OnFailure"] } },
                containers: {
                  type: "array",
                  element: {
                    type: "object",
                    unknownKeys: "loose",
                    shape: {
                      name: {
                        type: "string",
                        checks: [
                          { kind: "max_length", n: 63 },
                          { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
                        ],
                      },
                      image: { type: "optional", inner: { type: "string", checks: [{ kind: "min_length", n: 1 }] } },
                    },
                  },
                  checks: [{ kind: "min_length", n: 1 }],
                },
              },
            },
          },
        },
      },
    },
  },
};

export const ENVIRONMENT_SHAPE: Shape = {
  type: "object",
  unknownKeys: "strict",
  shape: {
    apiVersion: { type: "literal", values: ["rollway.dev/v1alpha1"] },
    kind: { type: "literal", values: ["Environment"] },
    name: {
      type: "string",
      checks: [
        { kind: "max_length", n: 63 },
        { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
      ],
    },
    namespace: {
      type: "string",
      checks: [
        { kind: "max_length", n: 63 },
        { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
      ],
    },
    host: {
      type: "string",
      checks: [
        { kind: "regex", pattern: /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/ },
      ],
    },
    previewHost: {
      type: "optional",
      inner: {
        type: "string",
        checks: [
          { kind: "regex", pattern: /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/ },
        ],
      },
    },
    noDowntime: { type: "default", value: true, inner: { type: "boolean" } },
    promotion: {
      type: "default",
      value: { mode: "manual", readyTimeoutSeconds: 600 },
      inner: {
        type: "object",
        unknownKeys: "strict",
        shape: {
          mode: { type: "default", value: "manual", inner: { type: "literal", values: ["auto", "manual"] } },
          readyTimeoutSeconds: {
            type: "default",
            value: 600,
            inner: {
              type: "number",
              checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: false }],
            },
          },
          approvalTimeoutSeconds: {
            type: "optional",
            inner: {
              type: "number",
              checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: false }],
            },
          },
        },
      },
    },
    frontend: { type: "optional", inner: s2 },
    backends: {
      type: "default",
      value: {},
      inner: {
        type: "record",
        key: {
          type: "string",
          checks: [
            { kind: "max_length", n: 63 },
            { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
          ],
        },
        value: s2,
      },
    },
    codeAsData: {
      type: "optional",
      inner: {
        type: "object",
        unknownKeys: "strict",
        shape: {
          job: s4,
          container: {
            type: "string",
            checks: [
              { kind: "max_length", n: 63 },
              { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
            ],
          },
          timeoutSeconds: {
            type: "default",
            value: 1800,
            inner: {
              type: "number",
              checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: false }],
            },
          },
        },
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
            name: {
              type: "string",
              checks: [
                { kind: "max_length", n: 63 },
                { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
              ],
            },
            workload: s0,
            container: {
              type: "string",
              checks: [
                { kind: "max_length", n: 63 },
                { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
              ],
            },
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
                shape: {
                  name: {
                    type: "string",
                    checks: [
                      { kind: "max_length", n: 63 },
                      { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
                    ],
                  },
                  job: s4,
                  container: {
                    type: "optional",
                    inner: {
                      type: "string",
                      checks: [
                        { kind: "max_length", n: 63 },
                        { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
                      ],
                    },
                  },
                  imageFrom: {
                    type: "optional",
                    inner: {
                      type: "string",
                      checks: [
                        { kind: "max_length", n: 63 },
                        { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
                      ],
                    },
                  },
                  timeoutSeconds: {
                    type: "default",
                    value: 600,
                    inner: {
                      type: "number",
                      checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: false }],
                    },
                  },
                },
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
                shape: {
                  name: {
                    type: "string",
                    checks: [
                      { kind: "max_length", n: 63 },
                      { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
                    ],
                  },
                  job: s4,
                  container: {
                    type: "optional",
                    inner: {
                      type: "string",
                      checks: [
                        { kind: "max_length", n: 63 },
                        { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
                      ],
                    },
                  },
                  imageFrom: {
                    type: "optional",
                    inner: {
                      type: "string",
                      checks: [
                        { kind: "max_length", n: 63 },
                        { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
                      ],
                    },
                  },
                  timeoutSeconds: {
                    type: "default",
                    value: 600,
                    inner: {
                      type: "number",
                      checks: [{ kind: "safeint" }, { kind: "greater_than", value: 0, inclusive: false }],
                    },
                  },
                  for: {
                    type: "string",
                    checks: [
                      { kind: "max_length", n: 63 },
                      { kind: "regex", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ },
                    ],
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};
