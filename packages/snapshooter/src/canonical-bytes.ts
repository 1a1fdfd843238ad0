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

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

const TRUE = bytesOf("true");
const FALSE = bytesOf("false");
const NULL = bytesOf("null");

/** A view of `bytes`, for reads and writes four bytes at a time. */
function viewOf(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Copies `from[f, f + n)` to `to[t]` (views `fv`, `tv`), four bytes at a time: a byte loop over a Buffer costs
 * ~1.5 ns a byte, and Buffer#copy makes a Uint8Array per call (a GC's worth for 100,000 objects).
 */
function copyBytes(from: Buffer, fv: DataView, f: number, to: Buffer, tv: DataView, t: number, n: number): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) tv.setInt32(t + k, fv.getInt32(f + k, true), true);
  for (; k < n; k++) to[t + k] = from[f + k] as number;
}

/** The record's own members, as `memberOf` names them (0: any other key). */
const RECORD = 1;
const TAG = 2;
const KIND = 3;
const NAME = 4;
const MODEL = 5;
const PROPERTIES = 6;

/**
 * The reader's state, on one instance (V8 reads fields of a stable shape quickly; module-level `let`s cost a check
 * each time they are read).
 *
 * One pass over the record's bytes: each value is checked and written as it is read, and an object whose keys came
 * unsorted is put in order afterwards by moving its members' written bytes (most objects are small, their bytes in
 * the cache). Finding each member's extent first and then writing it read every nested value once per level of
 * nesting above it, plus once more to write it.
 */
class Reader {
  src: Buffer = EMPTY;
  limit = 0;
  /** Where values are written: the properties' scratch buffer while a record is read. */
  out: Buffer = EMPTY;
  at = 0;
  /** The properties' canonical bytes, written before the record's line (the members around them may come later). */
  scratch = Buffer.allocUnsafeSlow(4096);
  scratchView = viewOf(this.scratch);
  /** A copy of an object's members while they are put in key order. */
  spare = Buffer.allocUnsafeSlow(4096);
  spareView = viewOf(this.spare);
  /** Views of the last input and output buffers (a chunk and a page: each used for many records). */
  srcView: DataView = viewOf(EMPTY);
  viewed: Buffer = EMPTY;
  outputView: DataView = viewOf(EMPTY);
  output: Buffer = EMPTY;
  /** Members of the objects being written: (key start, key end, member end) in `out`, innermost last. */
  members = new Int32Array(3 * 256);
  top = 0;
  /** Whether the properties' members were written in key order (else they are left sorted on `members`). */
  propertiesSorted = true;

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

  /**
   * The end of the string starting at `i` (its opening quote), or -1 when it is not taken. A string taken prints
   * back as its very bytes, so it is copied as it is.
   */
  skipString(i: number): number {
    const { src, limit } = this;
    i++;
    while (i < limit) {
      const c = src[i] as number;
      if (c >= 0x20 && c < 0x80 && c !== BACKSLASH) {
        if (c === QUOTE) return i + 1;
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
   * Copies the key starting at `i` (its opening quote) when it is plain: ASCII, no escape, not starting with a digit
   * (JavaScript puts index-like keys first), not `__proto__`. Returns its end, or -1.
   */
  writeKey(i: number): number {
    const { src, limit, out } = this;
    let at = this.at;
    const from = at;
    out[at++] = QUOTE;
    let j = i + 1;
    if (j < limit && isDigit(src[j] as number)) return -1;
    for (; j < limit; j++) {
      const c = src[j] as number;
      if (c === QUOTE) break;
      if (c < 0x20 || c >= 0x80 || c === BACKSLASH) return -1;
      out[at++] = c;
    }
    if (j >= limit) return -1;
    out[at++] = QUOTE;
    // `"__proto__"`, quotes included.
    if (at - from === PROTO_KEY.length + 2 && this.matchesAt(i + 1, PROTO_KEY)) return -1;
    this.at = at;
    return j + 1;
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

  /**
   * Writes the canonical form of the value starting at `i` at `at`; returns its end, or -1: not taken. `depth` is
   * the nesting the value has if it is an object or an array.
   */
  value(i: number, depth: number): number {
    const c = this.byte(i);
    let end: number;
    if (c === QUOTE) return this.writeString(i);
    if (c === OPEN_BRACE) return this.object(i, depth);
    if (c === OPEN_BRACKET) return this.array(i, depth);
    if (c === 116) end = this.matchesAt(i, TRUE) ? i + 4 : -1;
    else if (c === 102) end = this.matchesAt(i, FALSE) ? i + 5 : -1;
    else if (c === 110) end = this.matchesAt(i, NULL) ? i + 4 : -1;
    else end = this.skipNumber(i);
    if (end >= 0) this.copy(i, end);
    return end;
  }

  array(i: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    this.out[this.at++] = OPEN_BRACKET;
    i = this.skipBlanks(i + 1);
    if (this.byte(i) !== CLOSE_BRACKET) {
      for (;;) {
        i = this.value(i, depth + 1);
        if (i < 0) return -1;
        i = this.skipBlanks(i);
        const c = this.byte(i);
        if (c === CLOSE_BRACKET) break;
        if (c !== COMMA) return -1;
        this.out[this.at++] = COMMA;
        i = this.skipBlanks(i + 1);
      }
    }
    this.out[this.at++] = CLOSE_BRACKET;
    return i + 1;
  }

  /** Key order as JavaScript's sort of the keys: for ASCII keys (as these are), by bytes. Keys in `out`, quoted. */
  compareKeys(as: number, ae: number, bs: number, be: number): number {
    const { out } = this;
    const n = Math.min(ae - as, be - bs);
    for (let k = 1; k < n - 1; k++) {
      const d = (out[as + k] as number) - (out[bs + k] as number);
      if (d !== 0) return d;
    }
    return ae - as - (be - bs);
  }

  /** Writes the object at `i` with its keys sorted; returns its end, or -1. */
  object(i: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    this.out[this.at++] = OPEN_BRACE;
    const open = this.at;
    i = this.skipBlanks(i + 1);
    if (this.byte(i) === CLOSE_BRACE) {
      this.out[this.at++] = CLOSE_BRACE;
      return i + 1;
    }
    const base = this.top;
    let sorted = true;
    for (let count = 1; ; count++) {
      if (count > MAX_KEYS || this.byte(i) !== QUOTE) return -1;
      const keyStart = this.at;
      i = this.writeKey(i);
      if (i < 0) return -1;
      const keyEnd = this.at;
      i = this.skipBlanks(i);
      if (this.byte(i) !== COLON) return -1;
      this.out[this.at++] = COLON;
      i = this.value(this.skipBlanks(i + 1), depth + 1);
      if (i < 0) return -1;
      // A nested object's members went above this one's meanwhile, and are gone again: `top` is this one's.
      let { members, top } = this;
      if (top + 3 > members.length) {
        const grown = new Int32Array(members.length * 2);
        grown.set(members);
        this.members = members = grown;
      }
      if (top > base && sorted) {
        // An equal key is a key given twice (JSON.parse keeps the last): declined.
        const order = this.compareKeys(members[top - 3] as number, members[top - 2] as number, keyStart, keyEnd);
        if (order === 0) return -1;
        if (order > 0) sorted = false;
      }
      members[top++] = keyStart;
      members[top++] = keyEnd;
      members[top++] = this.at;
      this.top = top;
      i = this.skipBlanks(i);
      const c = this.byte(i);
      if (c === CLOSE_BRACE) break;
      if (c !== COMMA) return -1;
      this.out[this.at++] = COMMA;
      i = this.skipBlanks(i + 1);
    }
    if (!sorted) {
      if (!this.sortMembers(base)) return -1;
      // The properties' members are copied in order into the line (`record`): no need to move them here.
      if (depth > 1) this.moveMembers(base, open);
      else this.propertiesSorted = false;
    }
    if (depth > 1) this.top = base;
    this.out[this.at++] = CLOSE_BRACE;
    return i + 1;
  }

  /** Sorts the members `members[base, top)` by key (an insertion sort of the few); false when a key is given twice. */
  sortMembers(base: number): boolean {
    const { members } = this;
    const last = this.top;
    for (let m = base + 3; m < last; m += 3) {
      const ks = members[m] as number;
      const ke = members[m + 1] as number;
      const me = members[m + 2] as number;
      let n = m - 3;
      for (; n >= base; n -= 3) {
        const order = this.compareKeys(members[n] as number, members[n + 1] as number, ks, ke);
        if (order === 0) return false;
        if (order < 0) break;
        members[n + 3] = members[n] as number;
        members[n + 4] = members[n + 1] as number;
        members[n + 5] = members[n + 2] as number;
      }
      members[n + 3] = ks;
      members[n + 4] = ke;
      members[n + 5] = me;
    }
    return true;
  }

  /** Copies the members `members[base, top)` (sorted) from `from` to `to[at]`, separated; returns the end. */
  putMembers(from: Buffer, fv: DataView, to: Buffer, tv: DataView, at: number, base: number, shift: number): number {
    const { members } = this;
    const last = this.top;
    for (let m = base; m < last; m += 3) {
      if (m > base) to[at++] = COMMA;
      const ms = (members[m] as number) - shift;
      const n = (members[m + 2] as number) - shift - ms;
      copyBytes(from, fv, ms, to, tv, at, n);
      at += n;
    }
    return at;
  }

  /** Rewrites the members `members[base, top)` (sorted), written from `scratch[open]` on, in their order. */
  moveMembers(base: number, open: number): void {
    const { scratch, scratchView } = this;
    const end = this.at;
    if (this.spare.length < end - open) {
      this.spare = Buffer.allocUnsafeSlow(Math.max(end - open, 2 * this.spare.length));
      this.spareView = viewOf(this.spare);
    }
    const { spare, spareView } = this;
    copyBytes(scratch, scratchView, open, spare, spareView, 0, end - open);
    this.putMembers(spare, spareView, scratch, scratchView, open, base, open);
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

  /** Which of the record's own members the key `src[start, end)` names, or 0 (an escaped key names none). */
  memberOf(start: number, end: number): number {
    const n = end - start;
    if (n === 3) return this.matchesAt(start, TAG_KEY) ? TAG : 0;
    if (n === 4) {
      if (this.matchesAt(start, KIND_KEY)) return KIND;
      return this.matchesAt(start, NAME_KEY) ? NAME : 0;
    }
    if (n === 5) return this.matchesAt(start, MODEL_KEY) ? MODEL : 0;
    if (n === 6) return this.matchesAt(start, RECORD_KEY) ? RECORD : 0;
    if (n === 10) return this.matchesAt(start, PROPERTIES_KEY) ? PROPERTIES : 0;
    return 0;
  }

  record(i: number, output: Buffer, offset: number): number {
    if (this.byte(i) !== OPEN_BRACE) return -1;
    const { src, limit } = this;
    // Where each member's value is (-1: not yet), the kind's code (0: not yet), the properties' length in `scratch`.
    let record = -1;
    let tag = -1;
    let kind = 0;
    let name = -1;
    let nameEnd = -1;
    let model = -1;
    let properties = -1;
    i = this.skipBlanks(i + 1);
    for (;;) {
      if (this.byte(i) !== QUOTE) return -1;
      // The key's end; a key with a backslash names none of the record's members (no need to read its escapes).
      let j = i + 1;
      while (j < limit && src[j] !== QUOTE && src[j] !== BACKSLASH) j++;
      if (j >= limit || src[j] !== QUOTE) return -1;
      const member = this.memberOf(i + 1, j);
      i = this.skipBlanks(j + 1);
      if (this.byte(i) !== COLON) return -1;
      i = this.skipBlanks(i + 1);
      // A member given twice, or one not in the schema: left to JSON.parse and zod.
      if (member === RECORD) {
        if (record >= 0 || !this.matchesAt(i, OBJECT)) return -1;
        record = i;
        i += OBJECT.length;
      } else if (member === TAG) {
        if (tag >= 0 || !this.isTagString(i)) return -1;
        tag = i;
        i += TAG_LENGTH + 2;
      } else if (member === MODEL) {
        if (model >= 0 || !this.isTagString(i)) return -1;
        model = i;
        i += TAG_LENGTH + 2;
      } else if (member === KIND) {
        if (kind !== 0) return -1;
        for (let k = 1; k < KIND_TEXT.length; k++) if (this.matchesAt(i, KIND_TEXT[k] as Buffer)) kind = k;
        if (kind === 0) return -1;
        i += (KIND_TEXT[kind] as Buffer).length;
      } else if (member === NAME) {
        if (name >= 0 || this.byte(i) !== QUOTE) return -1;
        name = i;
        i = nameEnd = this.skipString(i);
        if (i < 0) return -1;
      } else if (member === PROPERTIES) {
        if (properties >= 0 || this.byte(i) !== OPEN_BRACE) return -1;
        this.out = this.scratch;
        this.at = 0;
        this.propertiesSorted = true;
        i = this.object(i, 1);
        if (i < 0) return -1;
        properties = this.at;
      } else return -1;
      i = this.skipBlanks(i);
      const c = this.byte(i);
      if (c === CLOSE_BRACE) break;
      if (c !== COMMA) return -1;
      i = this.skipBlanks(i + 1);
    }
    if (this.skipBlanks(i + 1) !== limit) return -1;
    if (record < 0 || tag < 0 || kind === 0 || name < 0) return -1;

    // `{"kind":…,"model":…,"name":…,"properties":…,"tag":…}`: the record's strings and tags print as their bytes.
    const { scratch, scratchView } = this;
    if (output !== this.output) {
      this.output = output;
      this.outputView = viewOf(output);
    }
    if (src !== this.viewed) {
      this.viewed = src;
      this.srcView = viewOf(src);
    }
    const { outputView, srcView } = this;
    this.out = output;
    this.at = offset;
    this.put(OPEN_KIND);
    this.put(KIND_TEXT[kind] as Buffer);
    if (model >= 0) {
      this.put(MODEL_MEMBER);
      copyBytes(src, srcView, model, output, outputView, this.at, TAG_LENGTH + 2);
      this.at += TAG_LENGTH + 2;
    }
    this.put(NAME_MEMBER);
    copyBytes(src, srcView, name, output, outputView, this.at, nameEnd - name);
    this.at += nameEnd - name;
    this.put(PROPERTIES_MEMBER);
    if (properties < 0) this.put(EMPTY_OBJECT);
    else if (this.propertiesSorted) {
      copyBytes(scratch, scratchView, 0, output, outputView, this.at, properties);
      this.at += properties;
    } else {
      // In key order now (their members are still on `members`, sorted).
      output[this.at++] = OPEN_BRACE;
      this.at = this.putMembers(scratch, scratchView, output, outputView, this.at, 0, 0);
      output[this.at++] = CLOSE_BRACE;
    }
    this.put(TAG_MEMBER);
    copyBytes(src, srcView, tag, output, outputView, this.at, TAG_LENGTH + 2);
    this.at += TAG_LENGTH + 2;
    output[this.at++] = CLOSE_BRACE;

    objectRecordFields.tagAt = tag + 1;
    objectRecordFields.kind = kind;
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
  reader.top = 0;
  // The properties are never longer than the record: their scratch buffer is big enough for any.
  if (reader.scratch.length < end - start) {
    reader.scratch = Buffer.allocUnsafeSlow(Math.max(end - start, 2 * reader.scratch.length));
    reader.scratchView = viewOf(reader.scratch);
  }
  const lineEnd = reader.record(reader.skipBlanks(start), output, offset);
  // Not read past the call: the input is a chunk its source reuses, the output a page. (The views of the last
  // ones are kept, to be used again for the next record in the same chunk and page.)
  reader.src = EMPTY;
  reader.out = EMPTY;
  return lineEnd;
}
