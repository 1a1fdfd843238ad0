import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDocument, stringify } from "yaml";
import { readPlainYaml } from "./plain-yaml.js";

const demoText = readFileSync(new URL("../../release/examples/demo-environment.yaml", import.meta.url), "utf8");

/** What `yaml` reads, as `parseEnvironmentYaml` calls it; `ERROR` for a text it refuses. */
const ERROR = Symbol("error");
function yamlValue(text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return ERROR;
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    return ERROR;
  }
}

/** The property every text must have: either left to `yaml`, or read exactly as `yaml` reads it. */
function agrees(text: string): void {
  const quick = readPlainYaml(text);
  if (quick === undefined) return;
  const slow = yamlValue(text);
  expect(slow, text).not.toBe(ERROR);
  // node's deep equality (prototypes, own keys): vitest's would compare a `constructor` key as the objects' class.
  expect(isDeepStrictEqual(quick, slow), `${text}\n${JSON.stringify(quick)}\n${JSON.stringify(slow)}`).toBe(true);
}

const awkward = [
  "true",
  "False",
  "null",
  "~",
  "",
  " ",
  "1.5",
  "007",
  "-3",
  "+3",
  "0x1f",
  "0o17",
  "1e3",
  ".inf",
  ".NaN",
  "yes",
  "-",
  "- a",
  "a: b",
  "a:b",
  "#x",
  "a #x",
  "a#x",
  " x",
  "x ",
  "'q'",
  '"q"',
  "it's",
  'say "hi"',
  "back\\slash",
  "|",
  ">",
  "{a}",
  "[a]",
  "a, b",
  "&a",
  "*a",
  "!t",
  "%x",
  "@x",
  "`x",
  "?",
  "line\nbreak",
  "two\n\nlines\n",
  "trailing\n\n",
  "tab\there",
  "é ü 中",
  "😀",
  "__proto__",
];
const key = fc.oneof(
  fc.constantFrom("a", "name", "kind", "backend-1", "app.kubernetes.io/part-of", "v1", "true", "null", "1", "x y"),
  fc.constantFrom("__proto__", "constructor", "-k", "k:", "'k'", "<<"),
  fc.string({ maxLength: 6 }),
);
const leaf = fc.oneof(
  fc.constantFrom(...awkward),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 4 }),
  object: fc.dictionary(key, tie("value"), { maxKeys: 5 }),
}));
const options = fc.record({
  collectionStyle: fc.constantFrom("any", "block", "flow"),
  defaultStringType: fc.constantFrom("PLAIN", "QUOTE_SINGLE", "QUOTE_DOUBLE", "BLOCK_LITERAL"),
  indent: fc.constantFrom(2, 4),
  indentSeq: fc.boolean(),
  lineWidth: fc.constantFrom(0, 20, 80),
  flowCollectionPadding: fc.boolean(),
});
const edits = [":", ": ", " ", "-", "- ", "#", " #", "'", '"', "{", "}", "[", "]", ",", "|", "|-", "|+", ">", "\n"];
const moreEdits = ["  ", "\n  ", "a", "1", "&a ", "*a", "!x ", "? ", "---\n", "\t", "\r", "\\", "~", "null", "true"];

describe("readPlainYaml", () => {
  it("reads the demo environment file exactly as yaml does", () => {
    expect(readPlainYaml(demoText)).toStrictEqual(yamlValue(demoText));
  });

  it("reads a kubeconfig as kubectl writes it exactly as yaml does", () => {
    const kubeconfig = [
      "apiVersion: v1",
      "clusters:",
      "- cluster:",
      "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=",
      "    server: https://127.0.0.1:6443",
      "  name: kind-kind",
      "contexts:",
      "- context:",
      "    cluster: kind-kind",
      "    namespace: demo",
      "    user: kind-kind",
      "  name: kind-kind",
      'current-context: ""',
      "kind: Config",
      "preferences: {}",
      "users:",
      "- name: kind-kind",
      "  user:",
      "    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
      "    token: abc.def-123",
      "",
    ].join("\n");
    expect(readPlainYaml(kubeconfig)).toBeDefined();
    agrees(kubeconfig);
  });

  it.each([
    ["an anchor and an alias", "a: &x 1\nb: *x\n"],
    ["a tag", "a: !!str 1\n"],
    ["a multi-line plain scalar", "a: one\n  two\n"],
    ["a folded scalar", "a: >\n  one\n  two\n"],
    ["a kept block scalar", "a: |+\n  one\n\n"],
    ["a duplicate key", "a: 1\na: 2\n"],
    ["a tab", "a:\t1\n"],
    ["a flow collection over two lines", "a: { b: 1,\n  c: 2 }\n"],
    ["a double-quoted escape", 'a: "x\\ny"\n'],
    ["a hexadecimal number", "a: 0x1f\n"],
    ["a key yaml reads as a boolean", "true: 1\n"],
    ["a merge key", "a: { b: 1 }\nc:\n  <<: { b: 2 }\n"],
    ["a second document", "a: 1\n---\nb: 2\n"],
    ["a syntax error", "a: b: c\n"],
  ])("leaves %s to yaml", (_, text) => {
    expect(readPlainYaml(text)).toBeUndefined();
  });

  it("reads every value yaml writes either as yaml reads it back or not at all (property)", () => {
    fc.assert(
      fc.property(value, options, (v, o) => {
        agrees(stringify(v, o));
      }),
      { numRuns: 3000 },
    );
  });

  it("reads an edited environment file either as yaml reads it or not at all, and never one yaml refuses (property)", () => {
    const edit = fc.oneof(
      fc.record({
        at: fc.nat(demoText.length),
        insert: fc.constantFrom(...edits, ...moreEdits),
        remove: fc.constant(0),
      }),
      fc.record({ at: fc.nat(demoText.length), insert: fc.constant(""), remove: fc.integer({ min: 1, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (changes) => {
        let text = demoText;
        for (const c of changes) text = text.slice(0, c.at) + c.insert + text.slice(c.at + c.remove);
        agrees(text);
      }),
      { numRuns: 3000 },
    );
  });
});
