import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { objectRecordFields, readObjectRecord } from "./canonical-bytes.js";
import { parseRecordFast } from "./model.js";

/** What the snapshot wrote before for the record: its canonical line through JSON.parse, or undefined. */
function reference(bytes: Buffer): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  const fast = parseRecordFast(value);
  return fast?.record === "object" ? JSON.stringify(fast.object) : undefined;
}

/**
 * Reads `record` placed between other bytes (which the reader must not look at), into an output full of other
 * bytes; returns the line written, or undefined when declined.
 */
function read(record: Buffer, before = "[", after = "0]"): string | undefined {
  const input = Buffer.concat([Buffer.from(before), record, Buffer.from(after)]);
  const output = Buffer.alloc(record.length + 40, 0x7b);
  const end = readObjectRecord(input, before.length, before.length + record.length, output, 3);
  if (end < 0) return undefined;
  const { tagAt, kind, nameStart, nameEnd } = objectRecordFields;
  const line = output.toString("utf8", 3, end);
  const object = JSON.parse(line);
  // The fields given beside the line are the record's own.
  expect(input.toString("latin1", tagAt, tagAt + 20)).toBe(object.tag);
  expect([undefined, "folder", "project", "object"][kind]).toBe(object.kind);
  expect(JSON.parse(input.toString("utf8", nameStart, nameEnd))).toBe(object.name);
  return line;
}

const tag = fc.stringMatching(/^\d{20}$/);
// Strings with escapes, control characters, non-ASCII and astral characters, and lone surrogates.
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom(
    "",
    "a\nb",
    'say "hi"',
    "back\\slash",
    "tab\there",
    "\u0000\u001f\u007f",
    "é",
    "😀",
    "\u2028",
    "\ud800",
  ),
);
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 22n), max: 10n ** 22n }).map(String),
  fc.constantFrom(
    "-0",
    "0",
    "0.5",
    "1.50",
    "1e3",
    "1E-7",
    "0.000001",
    "0.0000001",
    "-0.0",
    "123456789012345",
    "1234567890123456",
    "0.1234567890123456",
    "01",
    "1.",
    ".5",
    "-",
    "+1",
  ),
);
/** JSON values as text, with numbers and strings in every form above (some not JSON at all). */
const valueText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    numberText,
    text.map((t) => JSON.stringify(t)),
    fc.constantFrom("true", "false", "null", '"\\u0041"', '"a\\/b"', '"\\x"', "tru", "nul"),
    fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    fc
      .array(
        fc.tuple(
          fc.oneof(fc.string(), fc.constantFrom("a", "b", "B", "_", "", "10", "2", "__proto__", "é", "a\\n", "ab")),
          tie("value"),
        ),
        { maxLength: 5 },
      )
      .map((members) => `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
  ),
})).value;

const blank = fc.constantFrom("", "", " ", "\n", "\t ", "\r\n");

/** An object record as text: its members in any order, sometimes missing, repeated or extra, blanks anywhere. */
/** Mostly `usual`, sometimes one of `odd`. */
const mostly = (usual: fc.Arbitrary<string>, ...odd: string[]) =>
  fc.oneof({ arbitrary: usual, weight: 8 }, { arbitrary: fc.constantFrom(...odd), weight: 1 });
/** Properties whose values are mostly of the kinds people write, sometimes any of the above. */
const propertiesText = fc.oneof(
  {
    arbitrary: fc
      .dictionary(fc.stringMatching(/^[a-z_][a-z0-9]{0,6}$/), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 })
      .map((p) => JSON.stringify(p, (_k, v) => (typeof v === "number" ? Math.round(v % 1e6) : v))),
    weight: 6,
  },
  { arbitrary: valueText, weight: 3 },
  { arbitrary: fc.constantFrom("{}", "[]", "null"), weight: 1 },
);
const recordText = fc
  .record({
    record: mostly(fc.constant('"object"'), '"relation"', '"Object"', "1"),
    tag: mostly(
      tag.map((t) => `"${t}"`),
      '"123"',
      "12345678901234567890",
      '"1234567890123456789x"',
    ),
    kind: mostly(fc.constantFrom('"folder"', '"project"', '"object"'), '"objects"', '"folde"', "null"),
    name: mostly(
      text.map((t) => JSON.stringify(t)),
      "1",
      '"a\\u0041"',
    ),
    model: fc.option(
      mostly(
        tag.map((t) => `"${t}"`),
        "null",
        '"1"',
      ),
    ),
    properties: fc.option(propertiesText),
    extra: fc.oneof(
      { arbitrary: fc.constant(null), weight: 8 },
      fc.constantFrom(['"other"', "1"], ['"tag"', '"10000000000000000000"'], ['"record"', '"object"']),
    ),
  })
  .chain((r) => {
    const members: [string, string][] = [
      ['"record"', r.record],
      ['"tag"', r.tag],
      ['"kind"', r.kind],
      ['"name"', r.name],
    ];
    if (r.model !== null) members.push(['"model"', r.model]);
    if (r.properties !== null) members.push(['"properties"', r.properties]);
    if (r.extra !== null) members.push(r.extra as [string, string]);
    return fc.tuple(fc.shuffledSubarray(members, { minLength: members.length }), fc.array(blank, { minLength: 40 }));
  })
  .map(([members, blanks]) => {
    let b = 0;
    const sp = () => blanks[b++ % blanks.length] as string;
    return `${sp()}{${sp()}${members.map(([k, v]) => `${k}${sp()}:${sp()}${v}${sp()}`).join(`,${sp()}`)}}${sp()}`;
  });

describe("an object record's canonical line from its bytes", () => {
  it("writes what JSON.parse, the schema's fast path and JSON.stringify give, or declines (property)", () => {
    fc.assert(
      fc.property(
        recordText,
        fc.constantFrom("", "[", '{"a":1}\n'),
        fc.constantFrom("", "]", "0", '"', "}", " 1"),
        (record, before, after) => {
          const bytes = Buffer.from(record);
          const line = read(bytes, before, after);
          if (line !== undefined) expect(line).toBe(reference(bytes));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("takes every usual record, whatever its members' order and blanks (property)", () => {
    // Strings as people write them (JSON.stringify escapes other control characters as \u), integers and short
    // decimals, objects with plain keys.
    const plain = fc
      .string({ unit: "grapheme" })
      .map((t) => Array.from(t.split(""), (unit) => (unit >= " " || "\b\t\n\f\r".includes(unit) ? unit : "")).join(""));
    const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        plain,
        fc.integer(),
        fc.integer({ min: -100000, max: 100000 }).map((n) => n / 8),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(fc.stringMatching(/^[a-z_][a-zA-Z0-9 ]{0,8}$/), tie("value"), { maxKeys: 5 }),
      ),
    })).value;
    const usual = fc.record({
      tag,
      kind: fc.constantFrom("folder", "project", "object"),
      name: plain,
      model: fc.option(tag, { nil: undefined }),
      properties: fc.option(fc.dictionary(fc.stringMatching(/^[a-z_][a-zA-Z0-9 ]{0,8}$/), json, { maxKeys: 6 }), {
        nil: undefined,
      }),
    });
    fc.assert(
      fc.property(usual, fc.constantFrom(undefined, 2, "\t"), (object, indent) => {
        const bytes = Buffer.from(JSON.stringify({ record: "object", ...object }, null, indent));
        const line = read(bytes);
        expect(line).toBeDefined();
        expect(line).toBe(reference(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it("declines bytes Node would decode to U+FFFD (bad UTF-8, surrogates, overlong forms) and strings cut short", () => {
    const prefix = '{"record":"object","tag":"10000000000000000000","kind":"folder","name":"';
    for (const bad of [
      [0xff],
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xc3],
    ]) {
      const bytes = Buffer.concat([Buffer.from(prefix), Buffer.from(bad), Buffer.from('"}')]);
      expect(read(bytes)).toBeUndefined();
    }
    const good = Buffer.concat([Buffer.from(prefix), Buffer.from("é😀\u2028"), Buffer.from('"}')]);
    expect(read(good)).toBe(reference(good));
    expect(read(Buffer.from(`${prefix}abc`), "", '"}')).toBeUndefined();
    expect(read(Buffer.from(`${prefix}abc"`), "", "}")).toBeUndefined();
  });

  it("prints numbers as JSON.stringify does, or declines them (property)", () => {
    fc.assert(
      fc.property(numberText, (n) => {
        const bytes = Buffer.from(
          `{"record":"object","tag":"10000000000000000000","kind":"object","name":"","properties":{"n":${n}}}`,
        );
        const line = read(bytes);
        if (line !== undefined) expect(line).toBe(reference(bytes));
      }),
      { numRuns: 5000 },
    );
    // Integers, and decimals as people write them, are taken.
    for (const n of ["0", "-1", "1920", "0.5", "-12.25", "0.000001", "123456789012345"]) {
      const bytes = Buffer.from(
        `{"record":"object","tag":"10000000000000000000","kind":"object","name":"","properties":{"n":${n}}}`,
      );
      expect(read(bytes)).toBe(reference(bytes));
    }
  });

  it("declines keys given twice, index-like keys and __proto__ (JSON.parse and the copy treat them apart)", () => {
    const record = (properties: string) =>
      Buffer.from(
        `{"record":"object","tag":"10000000000000000000","kind":"object","name":"x","properties":${properties}}`,
      );
    for (const properties of ['{"a":1,"a":2}', '{"b":{"x":1,"x":1}}', '{"10":1,"9":2}', '{"__proto__":{"a":1}}']) {
      expect(read(record(properties))).toBeUndefined();
    }
    expect(read(record('{"b":{"y":[1,{"d":null,"c":true}],"x":"1"},"a":[]}'))).toBe(
      '{"kind":"object","name":"x","properties":{"a":[],"b":{"x":"1","y":[1,{"c":true,"d":null}]}},"tag":"10000000000000000000"}',
    );
  });

  it("puts unsorted members in key order at every depth, each nested object already in order when moved", () => {
    const record = (properties: string) =>
      Buffer.from(
        `{"properties":${properties},"name":"x","kind":"object","tag":"10000000000000000000","record":"object"}`,
      );
    for (const properties of [
      '{"b":{"d":{"f":1,"e":2},"c":[{"z":1,"y":{"q":"2","p":[]}}]},"a":0}',
      '{"a":{"c":1,"b":2},"b":{"a":{"b":1,"a":2}}}',
      '{"z":1,"y":2,"x":3,"w":4,"v":5,"u":6,"t":7,"s":8,"r":9}',
      '{"ab":1,"a":2,"a b":3,"a!":4,"":5}',
    ]) {
      const bytes = record(properties);
      expect(read(bytes)).toBe(reference(bytes));
    }
    // A key given twice is found however far apart the two are, after the members are sorted.
    for (const properties of ['{"b":1,"c":2,"a":3,"c":4}', '{"x":{"c":1,"a":2,"b":3,"a":4}}']) {
      expect(read(record(properties))).toBeUndefined();
    }
  });

  it("takes values nested 64 levels deep (the properties being the first) and declines deeper ones", () => {
    const record = (levels: number, open: string, close: string) =>
      Buffer.from(
        `{"record":"object","tag":"10000000000000000000","kind":"object","name":"x","properties":{"a":${open.repeat(levels - 1)}1${close.repeat(levels - 1)}}}`,
      );
    for (const [open, close] of [
      ['{"k":', "}"],
      ["[", "]"],
    ] as const) {
      const deepest = record(64, open, close);
      expect(read(deepest)).toBeDefined();
      expect(read(deepest)).toBe(reference(deepest));
      expect(read(record(65, open, close))).toBeUndefined();
    }
  });
});
