/**
 * An object record's canonical JSON line, written straight from the export's bytes: the same bytes as
 * `JSON.stringify(parseRecordFast(JSON.parse(text)).object)`, with no string decoded, no value parsed and no object
 * made. Decoding, parsing, copying with sorted keys, printing and encoding each object record cost a snapshot more
 * than half of its reading time (BENCHMARKS.md, 2026-12-06 night).
 *
 * Only a form whose printed bytes are certain is taken; anything else is declined (-1), and the caller gives the
 * record to `JSON.parse` and the schema as before, so every refusal keeps its message. Taken:
 * - the record's keys `record` ("object"), `tag` (20 digits), `kind` (folder, project, object), `name` (a string),
 *   `model` (20 digits, optional), `properties` (an object, optional), each once, in any order, JSON blanks anywhere;
 * - strings of valid UTF-8 with no escape other than `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f` (JSON.stringify prints
 *   exactly those back; `\/` and `\u` would print differently);
 * - numbers JSON.stringify prints as written: no exponent, no trailing zero after the point, at most 15 significant
 *   digits (so the shortest form that reads back is the one written), not `-0`, and not below 1e-6;
 * - object keys of ASCII, no escape, not starting with a digit (JavaScript puts index-like keys first), not
 *   `__proto__`, no key twice; at most 64 keys per object and 64 levels of nesting.
 */

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const TAG_LENGTH = 20;
const MAX_KEYS = 64;
const MAX_DEPTH = 64;

const bytesOf = (text: string) => Buffer.from(text, "latin1");
const RECORD_KEY = bytesOf("record");
const TAG_KEY = bytesOf("tag");
const KIND_KEY = bytesOf("kind");
const NAME_KEY = bytesOf("name");
const MODEL_KEY = bytesOf("model");
const PROPERTIES_KEY = bytesOf("properties");
const PROTO_KEY = bytesOf("__proto__");
const OBJECT = bytesOf('"object"');
/** By kind code (1 folder, 2 project, 3 object): the kind as a JSON string. */
const KIND_TEXT = [bytesOf(""), bytesOf('"folder"'), bytesOf('"project"'), OBJECT];
const OPEN_KIND = bytesOf('{"kind":');
const MODEL_MEMBER = bytesOf(',"model":');
const NAME_MEMBER = bytesOf(',"name":');
const PROPERTIES_MEMBER = bytesOf(',"properties":');
const EMPTY_OBJECT = bytesOf("{}");
const TAG_MEMBER = bytesOf(',"tag":');

const EMPTY = Buffer.alloc(0);

/** The fields of the last object record read (valid after `readObjectRecord` returned an end). */
export const objectRecordFields = {
  /** Where the tag's 20 digits are in the input. */
  tagAt: 0,
  /** 1 folder, 2 project, 3 object. */
  kind: 0,
  /** The name's JSON string in the input, quotes included: `[nameStart, nameEnd)`. */
  nameStart: 0,
  nameEnd: 0,
};

/** `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`: the escapes JSON.stringify prints back as they are written. */
function isKeptEscape(e: number): boolean {
  return e === QUOTE || e === BACKSLASH || e === 110 || e === 114 || e === 116 || e === 98 || e === 102;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

const TRUE = bytesOf("true");
const FALSE = bytesOf("false");
const NULL = bytesOf("null");

/**
 * The reader's state, on one instance (V8 reads fields of a stable shape quickly; module-level `let`s cost a check
 * each time they are read).
 */
class Reader {
  src: Buffer = EMPTY;
  limit = 0;
  out: Buffer = EMPTY;
  at = 0;
  depth = 0;
  /** Members of the objects being read or written: (key start, key end, value start, value end), innermost last. */
  members = new Int32Array(4 * 256);
  top = 0;

  /** The byte at `i`, or -1 past the record's end (the input goes on with other records). */
  byte(i: number): number {
    return i < this.limit ? (this.src[i] as number) : -1;
  }

  skipBlanks(i: number): number {
    const { src, limit } = this;
    // Written out (as in the loops below): until the optimizing compiler has inlined them, calls cost per byte.
    for (; i < limit; i++) {
      const c = src[i] as number;
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    }
    return i;
  }

  continuation(i: number, low: number, high: number): boolean {
    if (i >= this.limit) return false;
    const c = this.src[i] as number;
    return c >= low && c <= high;
  }

  /** The length of the valid UTF-8 sequence (2 to 4 bytes) starting at `i`, or -1 (Node would decode a U+FFFD). */
  utf8Length(i: number): number {
    const c = this.src[i] as number;
    if (c >= 0xc2 && c <= 0xdf) return this.continuation(i + 1, 0x80, 0xbf) ? 2 : -1;
    if (c >= 0xe0 && c <= 0xef) {
      // No overlong form (E0 A0..), no surrogate (ED 80..9F).
      const ok =
        this.continuation(i + 1, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf) &&
        this.continuation(i + 2, 0x80, 0xbf);
      return ok ? 3 : -1;
    }
    if (c >= 0xf0 && c <= 0xf4) {
      const ok =
        this.continuation(i + 1, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf) &&
        this.continuation(i + 2, 0x80, 0xbf) &&
        this.continuation(i + 3, 0x80, 0xbf);
      return ok ? 4 : -1;
    }
    return -1;
  }

  /** The end of the string starting at `i` (its opening quote), or -1 when it is not taken. */
  skipString(i: number): number {
    const { src, limit } = this;
    i++;
    while (i < limit) {
      const c = src[i] as number;
      if (c === QUOTE) return i + 1;
      if (c >= 0x20 && c < 0x80 && c !== BACKSLASH) {
        i++;
        continue;
      }
      if (c === BACKSLASH) {
        const e = src[i + 1] as number;
        if (isKeptEscape(e)) {
          i += 2;
          continue;
        }
        return -1;
      }
      if (c < 0x20) return -1;
      const n = this.utf8Length(i);
      if (n < 0) return -1;
      i += n;
    }
    return -1;
  }

  /** Copies the string starting at `i` (its opening quote) as `skipString` reads it; returns its end or -1. */
  writeString(i: number): number {
    const { src, limit, out } = this;
    let at = this.at;
    out[at++] = QUOTE;
    i++;
    while (i < limit) {
      const c = src[i] as number;
      if (c >= 0x20 && c < 0x80 && c !== BACKSLASH && c !== QUOTE) {
        out[at++] = c;
        i++;
        continue;
      }
      if (c === QUOTE) {
        out[at++] = QUOTE;
        this.at = at;
        return i + 1;
      }
      if (c === BACKSLASH) {
        const e = src[i + 1] as number;
        if (isKeptEscape(e)) {
          out[at++] = BACKSLASH;
          out[at++] = e;
          i += 2;
          continue;
        }
        return -1;
      }
      if (c < 0x20) return -1;
      const n = this.utf8Length(i);
      if (n < 0) return -1;
      for (let k = 0; k < n; k++) out[at++] = src[i + k] as number;
      i += n;
    }
    return -1;
  }

  /**
   * The end of the value starting at `i` by its structure only (strings, nesting), or -1: where the next member
   * starts. What the value holds is checked when it is written.
   */
  skipValue(i: number): number {
    const { src, limit } = this;
    let c = this.byte(i);
    if (c === QUOTE) return this.skipQuoted(i);
    if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
      while (i < limit) {
        c = src[i] as number;
        if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isBlank(c)) break;
        i++;
      }
      return i;
    }
    let depth = 0;
    while (i < limit) {
      c = src[i] as number;
      if (c === QUOTE) {
        i = this.skipQuoted(i);
        if (i < 0) return -1;
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return i + 1;
      i++;
    }
    return -1;
  }

  /** The end of the string starting at `i`, by its quotes only. */
  skipQuoted(i: number): number {
    const { src, limit } = this;
    for (i++; i < limit; i++) {
      const c = src[i] as number;
      if (c === QUOTE) return i + 1;
      if (c === BACKSLASH) i++;
    }
    return -1;
  }

  /** The end of the number starting at `i`, or -1 when JSON.stringify might print it otherwise (or it is not JSON). */
  skipNumber(i: number): number {
    let j = i;
    const negative = this.byte(j) === MINUS;
    if (negative) j++;
    const intStart = j;
    const { src, limit } = this;
    if (this.byte(j) === ZERO) j++;
    else if (isDigit(this.byte(j)))
      for (j++; j < limit; j++) {
        const c = src[j] as number;
        if (c < ZERO || c > NINE) break;
      }
    else return -1;
    const zeroInt = j === intStart + 1 && this.src[intStart] === ZERO;
    let significant = zeroInt ? 0 : j - intStart;
    if (this.byte(j) === DOT) {
      j++;
      const fracStart = j;
      for (; j < limit; j++) {
        const c = src[j] as number;
        if (c < ZERO || c > NINE) break;
      }
      if (j === fracStart || this.src[j - 1] === ZERO) return -1;
      if (zeroInt) {
        let z = fracStart;
        while (this.src[z] === ZERO) z++;
        // 0.000001 prints as written, 0.0000001 as 1e-7.
        if (z - fracStart > 5) return -1;
        significant = j - z;
      } else significant += j - fracStart;
    } else if (zeroInt && negative) return -1;
    if (this.byte(j) === 101 || this.byte(j) === 69) return -1;
    return significant > 15 ? -1 : j;
  }

  matchesAt(i: number, expected: Buffer): boolean {
    if (i + expected.length > this.limit) return false;
    const { src } = this;
    for (let k = 0; k < expected.length; k++) if (src[i + k] !== expected[k]) return false;
    return true;
  }

  copy(from: number, to: number): void {
    const { src, out } = this;
    let at = this.at;
    for (let k = from; k < to; k++) out[at++] = src[k] as number;
    this.at = at;
  }

  put(bytes: Buffer): void {
    const { out } = this;
    let at = this.at;
    for (let k = 0; k < bytes.length; k++) out[at++] = bytes[k] as number;
    this.at = at;
  }

  /** Writes the canonical form of the value starting at `i` at `at`; returns its end, or -1: not taken. */
  value(i: number): number {
    const c = this.byte(i);
    let end: number;
    if (c === QUOTE) return this.writeString(i);
    if (c === OPEN_BRACE) return this.object(i);
    if (c === OPEN_BRACKET) return this.array(i);
    if (c === 116) end = this.matchesAt(i, TRUE) ? i + 4 : -1;
    else if (c === 102) end = this.matchesAt(i, FALSE) ? i + 5 : -1;
    else if (c === 110) end = this.matchesAt(i, NULL) ? i + 4 : -1;
    else end = this.skipNumber(i);
    if (end >= 0) this.copy(i, end);
    return end;
  }

  array(i: number): number {
    if (++this.depth > MAX_DEPTH) return -1;
    this.out[this.at++] = OPEN_BRACKET;
    i = this.skipBlanks(i + 1);
    if (this.byte(i) !== CLOSE_BRACKET) {
      for (;;) {
        i = this.value(i);
        if (i < 0) return -1;
        i = this.skipBlanks(i);
        if (this.byte(i) === CLOSE_BRACKET) break;
        if (this.byte(i) !== COMMA) return -1;
        this.out[this.at++] = COMMA;
        i = this.skipBlanks(i + 1);
      }
    }
    this.out[this.at++] = CLOSE_BRACKET;
    this.depth--;
    return i + 1;
  }

  /** Key order as JavaScript's sort of the keys: for ASCII keys (as these are), by bytes. */
  compareKeys(as: number, ae: number, bs: number, be: number): number {
    const { src } = this;
    const n = Math.min(ae - as, be - bs);
    for (let k = 0; k < n; k++) {
      const d = (src[as + k] as number) - (src[bs + k] as number);
      if (d !== 0) return d;
    }
    return ae - as - (be - bs);
  }

  isPlainKey(start: number, end: number): boolean {
    const { src } = this;
    if (start < end && isDigit(src[start] as number)) return false;
    for (let k = start; k < end; k++) {
      const c = src[k] as number;
      if (c === BACKSLASH || c >= 0x80) return false;
    }
    return !(end - start === PROTO_KEY.length && this.matchesAt(start, PROTO_KEY));
  }

  /**
   * Reads the members of the object at `i` onto `members` (from `top`); returns the end of the object, or -1. Keys
   * are checked with `plainKeys` (the record's own keys are matched by name instead).
   */
  readMembers(i: number, plainKeys: boolean): number {
    i = this.skipBlanks(i + 1);
    if (this.byte(i) === CLOSE_BRACE) return i + 1;
    for (let count = 1; ; count++) {
      if (count > MAX_KEYS || this.byte(i) !== QUOTE) return -1;
      const keyEnd = this.skipString(i);
      if (keyEnd < 0 || (plainKeys && !this.isPlainKey(i + 1, keyEnd - 1))) return -1;
      let j = this.skipBlanks(keyEnd);
      if (this.byte(j) !== COLON) return -1;
      j = this.skipBlanks(j + 1);
      let { members, top } = this;
      if (top + 4 > members.length) {
        const grown = new Int32Array(members.length * 2);
        grown.set(members);
        this.members = members = grown;
      }
      members[top++] = i + 1;
      members[top++] = keyEnd - 1;
      members[top++] = j;
      i = this.skipValue(j);
      if (i < 0) return -1;
      members[top++] = i;
      this.top = top;
      i = this.skipBlanks(i);
      if (this.byte(i) === CLOSE_BRACE) return i + 1;
      if (this.byte(i) !== COMMA) return -1;
      i = this.skipBlanks(i + 1);
    }
  }

  object(i: number): number {
    if (++this.depth > MAX_DEPTH) return -1;
    const base = this.top;
    const end = this.readMembers(i, true);
    if (end < 0) return -1;
    {
      const { members } = this;
      const last = this.top;
      // Insertion sort of the few members by key; an equal key is a key given twice (JSON.parse keeps the last).
      for (let m = base + 4; m < last; m += 4) {
        const ks = members[m] as number;
        const ke = members[m + 1] as number;
        const vs = members[m + 2] as number;
        const ve = members[m + 3] as number;
        let n = m - 4;
        for (; n >= base; n -= 4) {
          const order = this.compareKeys(members[n] as number, members[n + 1] as number, ks, ke);
          if (order === 0) return -1;
          if (order < 0) break;
          members[n + 4] = members[n] as number;
          members[n + 5] = members[n + 1] as number;
          members[n + 6] = members[n + 2] as number;
          members[n + 7] = members[n + 3] as number;
        }
        members[n + 4] = ks;
        members[n + 5] = ke;
        members[n + 6] = vs;
        members[n + 7] = ve;
      }
      this.out[this.at++] = OPEN_BRACE;
      for (let m = base; m < last; m += 4) {
        if (m > base) this.out[this.at++] = COMMA;
        // A nested object's members go above this one's (the array may grow meanwhile: read it again).
        this.copy((this.members[m] as number) - 1, (this.members[m + 1] as number) + 1);
        this.out[this.at++] = COLON;
        // The value must end where its structure said (a number such as 01 would not).
        if (this.value(this.members[m + 2] as number) !== this.members[m + 3]) return -1;
      }
      this.out[this.at++] = CLOSE_BRACE;
    }
    this.top = base;
    this.depth--;
    return end;
  }

  isTagString(i: number): boolean {
    const { src } = this;
    if (i + TAG_LENGTH + 2 > this.limit || src[i] !== QUOTE || src[i + TAG_LENGTH + 1] !== QUOTE) return false;
    for (let k = i + 1; k <= i + TAG_LENGTH; k++) {
      const c = src[k] as number;
      if (c < ZERO || c > NINE) return false;
    }
    return true;
  }

  keyIs(start: number, end: number, key: Buffer): boolean {
    return end - start === key.length && this.matchesAt(start, key);
  }

  record(i: number): number {
    if (this.byte(i) !== OPEN_BRACE) return -1;
    const close = this.readMembers(i, false);
    if (close < 0 || this.skipBlanks(close) !== this.limit) return -1;
    let [record, tag, kind, name, model, properties] = [-1, -1, -1, -1, -1, -1];
    let [nameEnd, propertiesEnd] = [-1, -1];
    const { members } = this;
    for (let m = 0; m < this.top; m += 4) {
      const ks = members[m] as number;
      const ke = members[m + 1] as number;
      const vs = members[m + 2] as number;
      // A key given twice, or one not in the schema: left to JSON.parse and zod.
      if (this.keyIs(ks, ke, RECORD_KEY) && record < 0) record = vs;
      else if (this.keyIs(ks, ke, TAG_KEY) && tag < 0) tag = vs;
      else if (this.keyIs(ks, ke, KIND_KEY) && kind < 0) kind = vs;
      else if (this.keyIs(ks, ke, NAME_KEY) && name < 0) [name, nameEnd] = [vs, members[m + 3] as number];
      else if (this.keyIs(ks, ke, MODEL_KEY) && model < 0) model = vs;
      else if (this.keyIs(ks, ke, PROPERTIES_KEY) && properties < 0)
        [properties, propertiesEnd] = [vs, members[m + 3] as number];
      else return -1;
    }
    if (record < 0 || !this.matchesAt(record, OBJECT)) return -1;
    if (tag < 0 || !this.isTagString(tag)) return -1;
    if (model >= 0 && !this.isTagString(model)) return -1;
    if (name < 0 || this.src[name] !== QUOTE) return -1;
    if (properties >= 0 && this.src[properties] !== OPEN_BRACE) return -1;
    if (kind < 0) return -1;
    let kindCode = 0;
    for (let k = 1; k < KIND_TEXT.length; k++) if (this.matchesAt(kind, KIND_TEXT[k] as Buffer)) kindCode = k;
    if (kindCode === 0) return -1;
    this.top = 0;

    this.put(OPEN_KIND);
    this.put(KIND_TEXT[kindCode] as Buffer);
    if (model >= 0) {
      this.put(MODEL_MEMBER);
      this.copy(model, model + TAG_LENGTH + 2);
    }
    this.put(NAME_MEMBER);
    if (this.writeString(name) !== nameEnd) return -1;
    this.put(PROPERTIES_MEMBER);
    if (properties < 0) this.put(EMPTY_OBJECT);
    else if (this.value(properties) !== propertiesEnd) return -1;
    this.put(TAG_MEMBER);
    this.copy(tag, tag + TAG_LENGTH + 2);
    this.out[this.at++] = CLOSE_BRACE;

    objectRecordFields.tagAt = tag + 1;
    objectRecordFields.kind = kindCode;
    objectRecordFields.nameStart = name;
    objectRecordFields.nameEnd = nameEnd;
    return this.at;
  }
}

const reader = new Reader();

/**
 * Writes the canonical JSON of the object record `input[start, end)` (blanks around it allowed) to `output` at
 * `offset`, which must have room for `end - start + 16` bytes, and returns where it ends there; -1 when the record is
 * not in a form taken here (`output` may then hold anything past `offset`). The record's fields are then in
 * `objectRecordFields`.
 */
export function readObjectRecord(input: Buffer, start: number, end: number, output: Buffer, offset: number): number {
  reader.src = input;
  reader.limit = end;
  reader.out = output;
  reader.at = offset;
  reader.depth = 0;
  reader.top = 0;
  const lineEnd = reader.record(reader.skipBlanks(start));
  // Not kept past the call: the input is a chunk its source reuses, the output a page.
  reader.src = EMPTY;
  reader.out = EMPTY;
  return lineEnd;
}
