/**
 * A reader for the plain YAML that kubeconfigs and rollway's environment files are written in: block mappings and
 * sequences, one-line flow collections (`{ kind: Rollout, name: frontend }`), plain and one-line quoted scalars, `|`
 * block scalars and comments.
 * It returns what `yaml`'s `parseDocument(text).toJS()` returns for such text (YAML 1.2, core schema), or `undefined`
 * for anything else or in doubt (anchors, tags, multi-line scalars, escapes, duplicate keys, syntax errors...): the
 * caller then parses with `yaml`, which also says where a problem is.
 *
 * Why: loading and first running `yaml` costs a short command (`rollway status`) up to 15 ms of CPU per file on Node 24,
 * several times what this reader costs. It lives here, the lowest package that reads YAML (the kubeconfig).
 */

/** Not a case for this reader. */
class Unsure extends Error {}

const unsure = (): never => {
  throw new Unsure();
};

interface Line {
  indent: number;
  /** The text after the indentation. */
  text: string;
}

/** A key this reader takes as a string (yaml would read `true:` or `1:` as another type, `<<` as a merge...). */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
/** Characters no plain scalar starts with here (indicators, quotes handled elsewhere). */
const INDICATOR = /^[-?:,[\]{}#&*!|>'"%@`]/;
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
/** Numbers in forms not read here (octal, hex, exponent, infinities, NaN). */
const OTHER_NUMBER = /^(?:0o|0x|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]|[0-9]).*[eE])/;

/** A plain scalar's value under the core schema. */
function scalar(text: string): unknown {
  if (NULL.test(text)) return null;
  if (BOOL.test(text)) return text[0] === "t" || text[0] === "T";
  if (INT.test(text)) return Number.parseInt(text, 10);
  if (FLOAT.test(text)) return Number.parseFloat(text);
  if (OTHER_NUMBER.test(text)) unsure();
  return text;
}

/** The value of `text`, a whole document, as `yaml` reads it; `undefined` when this reader cannot tell. */
export function readPlainYaml(text: string): unknown {
  try {
    return new Reader(text).document();
  } catch (error) {
    if (error instanceof Unsure) return undefined;
    throw error;
  }
}

class Reader {
  private readonly lines: Line[];
  private at = 0;

  constructor(text: string) {
    // Tabs, carriage returns, control and other line-break characters, a byte-order mark: left to `yaml`.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this refuses.
    if (/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(text)) unsure();
    this.lines = text.split("\n").map((line) => {
      const indent = line.length - line.trimStart().length;
      return { indent, text: line.slice(indent) };
    });
  }

  document(): unknown {
    const first = this.next();
    if (first?.indent !== 0) return unsure();
    const value = this.block(0);
    if (this.next()) unsure();
    return value;
  }

  /** The next line that is not blank or a comment, skipping those before it. */
  private next(): Line | undefined {
    while (this.at < this.lines.length) {
      const line = this.lines[this.at] as Line;
      if (line.text !== "" && !line.text.startsWith("#")) {
        // Directives and document markers.
        if (line.indent === 0 && /^(?:%|---|\.\.\.)/.test(line.text)) unsure();
        return line;
      }
      this.at++;
    }
    return undefined;
  }

  /** A block mapping or sequence whose first line (the current one) is at `indent`. */
  private block(indent: number): unknown {
    const line = this.next() as Line;
    return line.text === "-" || line.text.startsWith("- ") ? this.sequence(indent) : this.mapping(indent);
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let line = this.next(); line && line.indent >= indent; line = this.next()) {
      if (line.indent > indent) unsure();
      const colon = line.text.search(/:(?: |$)/);
      const key = colon < 0 ? "" : line.text.slice(0, colon);
      if (!PLAIN_KEY.test(key) || typeof scalar(key) !== "string" || Object.hasOwn(out, key)) unsure();
      // A key named __proto__ would set the prototype: left to `yaml`.
      if (key === "__proto__") unsure();
      out[key] = this.value(line.text.slice(colon + 1).trimStart(), indent, true);
    }
    return out;
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    for (let line = this.next(); line && line.indent >= indent; line = this.next()) {
      if (line.indent > indent) unsure();
      // A key at the same indentation ends a sequence written under its own key (`key:` then `- a`, then `other:`).
      if (!(line.text === "-" || line.text.startsWith("- "))) break;
      const rest = line.text.slice(1).trimStart();
      const colon = rest.search(/:(?: |$)/);
      if (colon > 0 && !/^["'{[]/.test(rest)) {
        // `- key: value`: a mapping whose keys are where `key` is.
        if (!PLAIN_KEY.test(rest.slice(0, colon))) unsure();
        this.lines[this.at] = { indent: line.indent + line.text.length - rest.length, text: rest };
        out.push(this.mapping(line.indent + line.text.length - rest.length));
      } else {
        out.push(this.value(rest, indent, false));
      }
    }
    return out;
  }

  /**
   * The value after `key:` or `- ` on the current line (`rest`, without the leading spaces), the line's block being
   * at `indent`; moves past it. `inMapping`: a sequence may follow at the same indentation (`key:` then `- a`).
   */
  private value(rest: string, indent: number, inMapping: boolean): unknown {
    this.at++;
    if (rest === "" || rest.startsWith("#")) {
      const child = this.next();
      if (child && child.indent > indent) return this.block(child.indent);
      if (child && inMapping && child.indent === indent && (child.text === "-" || child.text.startsWith("- ")))
        return this.sequence(indent);
      return null;
    }
    if (rest[0] === "|") return this.blockScalar(rest, indent);
    let value: unknown;
    let after: string;
    if (rest[0] === "{" || rest[0] === "[") {
      const flow = new Flow(rest);
      value = flow.value();
      after = rest.slice(flow.at);
    } else if (rest[0] === "'" || rest[0] === '"') {
      const end = quotedEnd(rest);
      value = unquote(rest.slice(0, end));
      after = rest.slice(end);
    } else {
      if (INDICATOR.test(rest)) unsure();
      const comment = rest.indexOf(" #");
      const plain = (comment < 0 ? rest : rest.slice(0, comment)).trimEnd();
      // `a: b: c` is an error; a multi-line plain scalar is not read here.
      if (/:(?: |$)/.test(plain)) unsure();
      value = scalar(plain);
      after = comment < 0 ? "" : rest.slice(comment);
    }
    if (after.trim() !== "" && !/^ +#/.test(after)) unsure();
    // What follows a scalar must not be more indented (a continuation line, or an error): comments included.
    for (let i = this.at; i < this.lines.length; i++) {
      const line = this.lines[i] as Line;
      if (line.text === "") continue;
      if (line.indent > indent) unsure();
      if (!line.text.startsWith("#")) break;
    }
    return value;
  }

  /** A `|` or `|-` block scalar (other indicators are left to `yaml`), the current line being the one after it. */
  private blockScalar(header: string, indent: number): string {
    const strip = header.startsWith("|-");
    const trailing = header.slice(strip ? 2 : 1);
    if (trailing.trim() !== "" && !/^ +#/.test(trailing)) unsure();
    const content: string[] = [];
    let blockIndent = -1;
    while (this.at < this.lines.length) {
      const line = this.lines[this.at] as Line;
      if (line.text === "") {
        // A blank line: part of the scalar, unless it carries spaces past the indentation (kept by YAML).
        if (blockIndent < 0 || line.indent > blockIndent) unsure();
        content.push("");
        this.at++;
        continue;
      }
      if (line.indent <= indent) break;
      if (blockIndent < 0) blockIndent = line.indent;
      if (line.indent < blockIndent) unsure();
      content.push(" ".repeat(line.indent - blockIndent) + line.text);
      this.at++;
    }
    // Blank lines at the end belong to the chomping, not to the text.
    while (content.length > 0 && content[content.length - 1] === "") content.pop();
    if (content.length === 0) return "";
    return content.join("\n") + (strip ? "" : "\n");
  }
}

/** The end (after the closing quote) of the one-line quoted scalar at the start of `text`. */
function quotedEnd(text: string): number {
  const quote = text[0];
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === "\\") unsure();
    if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        i++;
        continue;
      }
      return i + 1;
    }
  }
  return unsure();
}

const unquote = (quoted: string): string =>
  quoted[0] === "'" ? quoted.slice(1, -1).replaceAll("''", "'") : quoted.slice(1, -1);

/** A one-line flow collection: `{ key: value, ... }` or `[a, b]`, nested, with plain or quoted scalars. */
class Flow {
  at = 0;
  constructor(private readonly text: string) {}

  private spaces(): void {
    while (this.text[this.at] === " ") this.at++;
  }

  value(): unknown {
    this.spaces();
    const c = this.text[this.at];
    if (c === "{") return this.collection("}", true);
    if (c === "[") return this.collection("]", false);
    if (c === "'" || c === '"') {
      const end = this.at + quotedEnd(this.text.slice(this.at));
      const value = unquote(this.text.slice(this.at, end));
      this.at = end;
      return value;
    }
    const start = this.at;
    while (this.at < this.text.length && !",[]{}".includes(this.text[this.at] as string)) this.at++;
    const plain = this.text.slice(start, this.at).trimEnd();
    // Keys and empty values, comments, anchors and other indicators inside a flow: left to `yaml`.
    if (plain === "" || plain.includes(":") || plain.includes(" #") || INDICATOR.test(plain)) unsure();
    return scalar(plain);
  }

  private collection(close: "}" | "]", map: boolean): unknown {
    this.at++;
    const out: Record<string, unknown> | unknown[] = map ? {} : [];
    this.spaces();
    if (this.text[this.at] === close) {
      this.at++;
      return out;
    }
    for (;;) {
      if (map) {
        this.spaces();
        const match = /^([A-Za-z_][A-Za-z0-9_./-]*): /.exec(this.text.slice(this.at));
        const key = match?.[1];
        if (!key || typeof scalar(key) !== "string" || Object.hasOwn(out, key) || key === "__proto__") unsure();
        this.at += (match as RegExpExecArray)[0].length;
        (out as Record<string, unknown>)[key as string] = this.value();
      } else {
        (out as unknown[]).push(this.value());
      }
      this.spaces();
      const c = this.text[this.at];
      this.at++;
      if (c === close) return out;
      if (c !== ",") unsure();
      this.spaces();
      // A trailing comma: left to `yaml`.
      if (this.text[this.at] === close) unsure();
    }
  }
}
