import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { checkRulePatternAsync, closeSafetyCheckers } from "@rollway/deploy-rules";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PayloadError, type PayloadProblem } from "./errors.js";
import { EXAMPLE_PAYLOAD_TEXT } from "./examples.js";
import { parseDeployPayload, parseDeployPayloadAsync, parseDeployPayloadMaybeAsync } from "./parse.js";

const example = (name: string) => readFileSync(new URL(`../examples/${name}`, import.meta.url), "utf8");

function problemsOf(input: unknown): PayloadProblem[] {
  try {
    parseDeployPayload(input);
  } catch (error) {
    expect(error).toBeInstanceOf(PayloadError);
    return [...(error as PayloadError).problems];
  }
  throw new Error("expected a PayloadError");
}

const base = { frontend: { image: "reg.example.com/web:1.0.0" } };

describe("parseDeployPayload: the seed's example", () => {
  it("parses the seed 004 example (trailing comma removed) with every default applied", () => {
    const payload = parseDeployPayload(example("seed-004.json"));
    expect(payload).toEqual({
      backends: {
        images: ["my-registry/image-for-backend-1:tag", "my-registry/image-for-other-backends:tag"],
        deployRules: [
          { source: "^my-registry/image-for-other-backends:tag.*$", target: "^(?!backend-1).*$" },
          { source: "^my-registry/image-for-backend-1:tag.*$", target: "^backend-1.*$" },
        ],
      },
      codeAsData: { image: "my-registry/image-for-codeasdata:tag", updateMode: "auto" },
      frontend: { image: "my-registry/image-for-frontend:tag" },
      skipUpdateVersions: false,
      extraArgs: [],
    });
  });

  it("embeds the same example for the demo", () => {
    expect(parseDeployPayload(EXAMPLE_PAYLOAD_TEXT)).toEqual(parseDeployPayload(example("seed-004.json")));
  });

  it("reports the published example's trailing comma at its exact line and column", () => {
    const text = example("seed-004-as-published.json");
    expect(() => parseDeployPayload(text)).toThrowError(
      "the deploy payload is not valid JSON (1 problem):\n  (payload) (line 19, column 52): trailing comma before '}': JSON allows none after the last property; remove it",
    );
    const line19 = text.split("\n")[18] ?? "";
    expect(line19[51]).toBe(",");
  });
});

describe("parseDeployPayload: the seed's table, row by row", () => {
  it.each<[string, unknown, PayloadProblem[]]>([
    ["backends present without images", { backends: {} }, [{ path: "backends.images", message: "required" }]],
    [
      "backends.images present without deployRules",
      { backends: { images: ["r/a:1"] } },
      [{ path: "backends.deployRules", message: expect.stringContaining("required when backends.images is present") }],
    ],
    [
      "a deploy rule without target",
      { backends: { images: ["r/a:1"], deployRules: [{ source: ".*", target: ".*" }, { source: ".*" }] } },
      [{ path: "backends.deployRules[1].target", message: "required" }],
    ],
    [
      "a deploy rule without source",
      { backends: { images: ["r/a:1"], deployRules: [{ target: ".*" }] } },
      [{ path: "backends.deployRules[0].source", message: "required" }],
    ],
    ["frontend present without image", { frontend: {} }, [{ path: "frontend.image", message: "required" }]],
    [
      "codeAsData.updateMode not auto or manual",
      { ...base, codeAsData: { updateMode: "later" } },
      [{ path: "codeAsData.updateMode", message: 'expected "auto" or "manual", got "later"' }],
    ],
    [
      "noDowntime.promotionMode not auto or manual",
      { ...base, noDowntime: { promotionMode: "Manual" } },
      [{ path: "noDowntime.promotionMode", message: 'expected "auto" or "manual", got "Manual"' }],
    ],
    [
      "skipUpdateVersions not a boolean",
      { ...base, skipUpdateVersions: "false" },
      [{ path: "skipUpdateVersions", message: "expected true or false" }],
    ],
    [
      "an unknown extra argument",
      { ...base, extraArgs: ["--force-sync", "--forcesync"] },
      [{ path: "extraArgs[1]", message: 'unknown argument "--forcesync"; known: --force-sync' }],
    ],
    [
      "nothing to deploy",
      { noDowntime: { promotionMode: "manual" } },
      [{ path: "(payload)", message: "nothing to deploy: give backends.images, frontend.image or codeAsData.image" }],
    ],
  ])("refuses %s", (_name, input, expected) => {
    expect(problemsOf(input)).toEqual(expected);
  });

  it.each<[string, unknown, unknown]>([
    ["codeAsData.updateMode defaults to auto", { ...base, codeAsData: {} }, { codeAsData: { updateMode: "auto" } }],
    [
      "codeAsData without an image (seed's Azure example)",
      { ...base, codeAsData: { updateMode: "manual" } },
      { codeAsData: { updateMode: "manual" } },
    ],
    [
      "noDowntime.promotionMode defaults to auto",
      { ...base, noDowntime: {} },
      { noDowntime: { promotionMode: "auto" } },
    ],
    [
      "promotionMode manual",
      { ...base, noDowntime: { promotionMode: "manual" } },
      { noDowntime: { promotionMode: "manual" } },
    ],
    ["skipUpdateVersions defaults to false", base, { skipUpdateVersions: false }],
    ["extraArgs defaults to []", base, { extraArgs: [] }],
    ["extraArgs --force-sync", { ...base, extraArgs: ["--force-sync"] }, { extraArgs: ["--force-sync"] }],
    [
      "only a code-as-data image",
      { codeAsData: { image: "r/cad:7" } },
      { codeAsData: { image: "r/cad:7", updateMode: "auto" } },
    ],
  ])("accepts %s", (_name, input, expected) => {
    expect(parseDeployPayload(input)).toMatchObject(expected as object);
  });
});

describe("parseDeployPayload: typos are never ignored", () => {
  it.each([
    [
      { ...base, noDowntime: { promotionmode: "manual" } },
      "noDowntime.promotionmode",
      'unknown key; did you mean "promotionMode"?',
    ],
    [{ ...base, frontEnd: { image: "r/w:1" } }, "frontEnd", 'unknown key; did you mean "frontend"?'],
    [{ ...base, skipUpdateVersion: true }, "skipUpdateVersion", 'unknown key; did you mean "skipUpdateVersions"?'],
    [
      { backends: { images: ["r/a:1"], deployRules: [{ source: ".*", taget: ".*" }] } },
      "backends.deployRules[0].taget",
      'unknown key; did you mean "target"?',
    ],
    [
      { ...base, zzz: 1 },
      "zzz",
      "unknown key; known keys here: backends, codeAsData, frontend, noDowntime, skipUpdateVersions, extraArgs",
    ],
  ])("names the unknown key and the closest known one (%#)", (input, path, message) => {
    expect(problemsOf(input)).toContainEqual({ path, message });
  });

  it("refuses a duplicate key, which JSON.parse would silently resolve", () => {
    const text = '{\n  "frontend": {"image": "r/w:1"},\n  "frontend": {"image": "r/w:2"}\n}';
    expect(problemsOf(text)).toEqual([
      { path: "frontend", line: 3, column: 3, message: expect.stringContaining("duplicate key") },
    ]);
  });

  it.each([
    ['{"frontend": {"image": "r/w:1", "image": "r/w:1"}}', "frontend.image"],
    ['{"frontend": {"image": "r/w:1"}, "extraArgs": [{"a": ":", "a": "\\":"}]}', "extraArgs[0].a"],
    ['{"frontend": {"image": "r/w:1"}, "x\\":": 1, "x\\":": 2}', 'x":'],
  ])("finds a duplicate key whatever the colons and escapes inside strings (%#)", (text, path) => {
    expect(problemsOf(text)).toContainEqual(
      expect.objectContaining({ path, message: expect.stringContaining("duplicate key") }),
    );
  });

  it("never reports a duplicate key in JSON that has none, colons and escapes in strings included", () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        try {
          parseDeployPayload(text);
        } catch (error) {
          expect((error as PayloadError).problems.some((p) => p.message.includes("duplicate key"))).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("finds duplicate keys, and only those, even with an enumerable property added to Object.prototype", () => {
    // zod's strict objects then refuse the inherited key everywhere (as before); what counts here is the duplicates.
    const duplicates = (text: string) => problemsOf(text).filter((p) => p.message.includes("duplicate key"));
    const text = '{"frontend": {"image": "r/w:1", "image": "r/w:1"}}';
    const before = duplicates(text);
    expect(before).toHaveLength(1);
    Object.defineProperty(Object.prototype, "polluted", {
      value: 1,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    try {
      expect(duplicates(text)).toEqual(before);
      expect(duplicates(EXAMPLE_PAYLOAD_TEXT)).toEqual([]);
    } finally {
      delete (Object.prototype as { polluted?: number }).polluted;
    }
  });

  it("refuses __proto__ as an unknown key instead of letting it change the object's prototype", () => {
    expect(problemsOf('{"frontend": {"image": "r/w:1"}, "__proto__": {"x": 1}}')).toEqual([
      { path: "__proto__", line: 1, column: 34, message: expect.stringContaining("unknown key") },
    ]);
  });
});

describe("parseDeployPayload: image references and patterns", () => {
  it.each([
    ["no tag or digest", "reg.example.com/api", '"reg.example.com/api" has no tag or digest'],
    ["uppercase repository", "reg.example.com/API:1", "repository names must be lowercase"],
    ["spaces", " r/a:1", "surrounded by spaces"],
    ["bad tag", "r/a:-x", "is not a valid OCI image reference"],
  ])("refuses an image with %s", (_name, image, message) => {
    const [problem] = problemsOf({ frontend: { image } });
    expect(problem?.path).toBe("frontend.image");
    expect(problem?.message).toContain(message);
  });

  it("refuses a catastrophic pattern at validation, with its place", () => {
    expect(problemsOf({ backends: { images: ["r/a:1"], deployRules: [{ source: "^(a+)+$", target: ".*" }] } })).toEqual(
      [{ path: "backends.deployRules[0].source", message: expect.stringContaining("catastrophic backtracking") }],
    );
  });

  it("refuses a pattern that does not compile", () => {
    expect(problemsOf({ backends: { images: ["r/a:1"], deployRules: [{ source: ".*", target: "^(?<n>a" }] } })).toEqual(
      [
        {
          path: "backends.deployRules[0].target",
          message: expect.stringContaining("not a valid JavaScript regular expression"),
        },
      ],
    );
  });

  it("gives every problem's line and column when the payload is text", () => {
    const text = `{
  "backends": {
    "images": ["r/a:1", "NOT AN IMAGE"],
    "deployRules": [{ "source": ".*" }]
  }
}`;
    expect(problemsOf(text)).toEqual([
      {
        path: "backends.images[1]",
        line: 3,
        column: 25,
        message: expect.stringContaining("not a valid OCI image reference"),
      },
      { path: "backends.deployRules[0].target", line: 4, column: 21, message: "required" },
    ]);
  });
});

describe("parseDeployPayload: malformed text", () => {
  it.each([
    ["", "(payload): empty body"],
    ["{", "(payload) (line 1, column 2): "],
    ['{"frontend": {"image": "r/w:1"} /* c */}', "(payload) (line 1, column 33): invalid comment token"],
    ["[1, 2, ]", "trailing comma before ']'"],
  ])("reports %j with its place", (text, expected) => {
    expect(() => parseDeployPayload(text)).toThrowError(expected);
  });

  it("refuses a body over the size limit before parsing it, as too large", () => {
    expect(() => parseDeployPayload(" ".repeat(1024 * 1024 + 1))).toThrowError(
      /^the deploy payload is too large \(1 problem\):\n {2}\(payload\): 1048577 bytes; a deploy payload may be at most 1048576 bytes$/,
    );
  });

  it.each([
    ["arrays", `{"frontend": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`, 1, 77],
    ["objects, after a newline", `{\n"a": ${'{"a": '.repeat(100_000)}1${"}".repeat(100_000)}}`, 2, 6 * 63 + 6],
  ])("refuses 100,000-deep %s with the depth and the place, without overflowing the stack", (_, text, line, column) => {
    let error: unknown;
    try {
      parseDeployPayload(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PayloadError);
    expect(error).toMatchObject({
      code: "TOO_DEEP",
      problems: [
        { path: "(payload)", message: "nested more than 64 levels deep; a deploy payload nests 4", line, column },
      ],
    });
  });

  it("counts no bracket inside a string", () => {
    const problems = problemsOf(JSON.stringify({ frontend: { image: `r/w:1${"[".repeat(1000)}` } }));
    expect(problems.map((p) => p.path)).toEqual(["frontend.image"]);
  });

  it("never throws anything but PayloadError on random values", () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          parseDeployPayload(value);
        } catch (error) {
          if (!(error instanceof PayloadError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never throws anything but PayloadError on random text, JSON or not", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ backends: v })),
        ),
        (text) => {
          try {
            parseDeployPayload(text);
          } catch (error) {
            if (!(error instanceof PayloadError)) throw error;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("parseDeployPayloadAsync", () => {
  const outcome = async (run: () => unknown) => {
    try {
      return { ok: true, value: await run() };
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      return { ok: false, code: error.code, problems: error.problems };
    }
  };

  // Both sides must see one verdict per pattern: judged first with a budget no loaded machine overruns (a check that
  // times out is refused as unprovable, and not remembered).
  const judged = (patterns: string[]) =>
    Promise.all(patterns.map((p) => checkRulePatternAsync(p, { timeoutMs: 120_000 })));

  it("gives parseDeployPayload's answer, problems with their places included", async () => {
    await judged(["^(a+)+$", ".*"]);
    const texts = [
      EXAMPLE_PAYLOAD_TEXT,
      '{"backends": {"images": ["r/a:1"], "deployRules": [{"source": "^(a+)+$", "target": "(x"}]}}',
      '{"backends": {"images": ["r/a:1"], "deployRules": [{"source": ".*", "source": ".*", "target": ".*"}]}}',
      '{"backends": {"images": ["r/a:1"], "deployRules": [{"source": 7, "target": null}, "rule"]}}',
      '{"frontend": {"image": "r/w:1"},}',
      "",
    ];
    for (const text of texts) {
      expect(await outcome(() => parseDeployPayloadAsync(text))).toEqual(await outcome(() => parseDeployPayload(text)));
    }
    await closeSafetyCheckers();
  }, 150_000);

  it("matches parseDeployPayload on random payloads", async () => {
    await judged([".*", "^a$", "^b"]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify({ backends: v })),
          fc
            .array(fc.record({ source: fc.constantFrom(".*", "^a$", "(b", 3), target: fc.constantFrom(".*", "^b") }))
            .map((deployRules) => JSON.stringify({ backends: { images: ["r/a:1"], deployRules } })),
        ),
        async (text) => {
          expect(await outcome(() => parseDeployPayloadAsync(text))).toEqual(
            await outcome(() => parseDeployPayload(text)),
          );
        },
      ),
      { numRuns: 200 },
    );
    await closeSafetyCheckers();
  }, 150_000);

  describe("parseDeployPayloadMaybeAsync", () => {
    /** The outcome of a call that must not return a promise: the payload, or the PayloadError it threw. */
    const now = (text: string) => {
      try {
        const value = parseDeployPayloadMaybeAsync(text);
        expect(value).not.toBeInstanceOf(Promise);
        return { ok: true, value };
      } catch (error) {
        if (!(error instanceof PayloadError)) throw error;
        return { ok: false, code: error.code, problems: error.problems };
      }
    };

    it("answers at once, without a promise, when every rule pattern has a verdict: as parseDeployPayload", async () => {
      await judged(["^(a+)+$", ".*", "^a$", "^b"]);
      const texts = [
        EXAMPLE_PAYLOAD_TEXT,
        '{"backends": {"images": ["r/a:1"], "deployRules": [{"source": "^(a+)+$", "target": "(x"}]}}',
        '{"backends": {"images": ["r/a:1"], "deployRules": [{"source": ".*", "source": ".*", "target": ".*"}]}}',
        '{"frontend": {"image": "r/w:1"},}',
        "",
      ];
      for (const text of texts) expect(now(text)).toEqual(await outcome(() => parseDeployPayload(text)));
      fc.assert(
        fc.property(
          fc.oneof(
            fc.jsonValue().map((v) => JSON.stringify({ frontend: v, codeAsData: v, extraArgs: v })),
            fc
              .array(fc.record({ source: fc.constantFrom(".*", "^a$", 3), target: fc.constantFrom(".*", "^b") }))
              .map((deployRules) => JSON.stringify({ backends: { images: ["r/a:1", "R/b"], deployRules } })),
          ),
          (text) => {
            let expected: unknown;
            try {
              expected = { ok: true, value: parseDeployPayload(text) };
            } catch (error) {
              if (!(error instanceof PayloadError)) throw error;
              expected = { ok: false, code: error.code, problems: error.problems };
            }
            expect(now(text)).toEqual(expected);
          },
        ),
        { numRuns: 300 },
      );
    }, 150_000);

    it("gives a promise when a pattern has no verdict yet, settling as parseDeployPayloadAsync does", async () => {
      const text = JSON.stringify({
        backends: { images: ["r/a:1"], deployRules: [{ source: "^maybe-async-[a-z]+$", target: ".*" }] },
      });
      const pending = parseDeployPayloadMaybeAsync(text);
      expect(pending).toBeInstanceOf(Promise);
      expect(await outcome(() => pending)).toEqual(await outcome(() => parseDeployPayloadAsync(text)));
      // Judged now: the next call answers at once.
      expect(now(text)).toEqual(await outcome(() => pending));
      await closeSafetyCheckers();
    }, 150_000);
  });

  // A fresh process: the never-seen patterns are judged by recheck in a worker; the main thread never loads it.
  it("checks never-seen patterns off the main thread, and the seed's without recheck at all", () => {
    const script = `
      const { parseDeployPayloadAsync, EXAMPLE_PAYLOAD_TEXT } = await import(${JSON.stringify(new URL("./index.ts", import.meta.url).href)});
      const { closeSafetyCheckers } = await import("@rollway/deploy-rules");
      const { createRequire } = await import("node:module");
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes("recheck"));
      const seed = await parseDeployPayloadAsync(EXAMPLE_PAYLOAD_TEXT);
      let refused;
      try {
        await parseDeployPayloadAsync(JSON.stringify({ backends: { images: ["r/a:1"], deployRules: [{ source: "(\\\\w+\\\\s?)*$", target: "^never-seen-[a-z]+$" }] } }));
      } catch (error) {
        refused = error.problems;
      }
      await closeSafetyCheckers();
      console.log(JSON.stringify({ seedRules: seed.backends.deployRules.length, refused, loaded: loaded() }));
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      cwd: fileURLToPath(new URL("..", import.meta.url)),
    });
    expect(JSON.parse(out)).toEqual({
      seedRules: 2,
      refused: [
        {
          path: "backends.deployRules[0].source",
          line: 1,
          column: 49,
          message: expect.stringContaining("catastrophic backtracking"),
        },
      ],
      loaded: false,
    });
  }, 120_000);
});
