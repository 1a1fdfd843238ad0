/**
 * Numbers for tags. A tag is 20 digits: too long for one exact JavaScript number, so it is kept as its 20 bytes and
 * as three small integers (for lookups and ordering), and found again through an open-addressing table on typed
 * arrays. Measured: a
 * `Map` keyed by 20-digit strings costs several times more per lookup than one keyed by numbers, a `Map` keyed by
 * numbers past 2^31 boxes each key, and 100,000 tag strings kept alive cost the GC; a snapshot looks up every tag of
 * every relation. A tag's string is made only when asked for (`tag(id)`).
 */
const HALF = 10;
const TAG = 2 * HALF;
/**
 * In the table a tag is three integers: its digits 0-7, 8-15 and 16-19 (below 10^8), so a lookup is small-integer
 * arithmetic only. With the two 10-digit halves as doubles, the optimizing compiler first saw small integers, then
 * doubles past 2^31, and threw its code away while a snapshot read its first tags (`--trace-deopt`: "not a Smi",
 * "overflow"). Interning a snapshot's 601,673 tags in fresh processes, 10 alternating runs: median 152 -> 121 ms CPU.
 * The parts follow 4-digit groups, so a reader can take them four bytes at a time (`readTagDigits`).
 */
const PART = 8;
/** A slot: the three parts and the id + 1 (0: an empty slot), 16 bytes, one cache line per lookup. */
const SLOT = 4;

/**
 * The four ASCII digits of a little-endian 32-bit word as their number (first byte most significant), or -1 when a
 * byte is not a digit. Each byte's check stays in its byte: its high nibble must be 3, and its low nibble + 6 must
 * not carry into the high one (at most 9).
 */
function fourDigits(word: number): number {
  if ((word & 0xf0f0f0f0) !== 0x30303030 || ((word & 0x0f0f0f0f) + 0x06060606) & 0xf0f0f0f0) return -1;
  const units = word & 0x0f0f0f0f;
  // Two 2-digit numbers in the two 16-bit halves, then one 4-digit number.
  const pairs = (units & 0x000f000f) * 10 + ((units >>> 8) & 0x000f000f);
  return (pairs & 0xffff) * 100 + (pairs >>> 16);
}

/**
 * Reads the 20 digits at `view[at]` as a tag's three parts into `parts[k, k + 3)`; false when they are not all
 * digits. Five 32-bit reads instead of 20 byte reads and checks.
 */
export function readTagDigits(view: DataView, at: number, parts: Int32Array, k: number): boolean {
  const w0 = fourDigits(view.getInt32(at, true));
  const w1 = fourDigits(view.getInt32(at + 4, true));
  const w2 = fourDigits(view.getInt32(at + 8, true));
  const w3 = fourDigits(view.getInt32(at + 12, true));
  const w4 = fourDigits(view.getInt32(at + 16, true));
  if ((w0 | w1 | w2 | w3 | w4) < 0) return false;
  parts[k] = w0 * 10_000 + w1;
  parts[k + 1] = w2 * 10_000 + w3;
  parts[k + 2] = w4;
  return true;
}

function hashOf(a: number, b: number, c: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return h ^ (h >>> 15);
}

/** The three parts of a 20-digit tag, or undefined for any other string. */
function partsOf(tag: string): [number, number, number] | undefined {
  if (tag.length !== TAG) return undefined;
  const parts: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < TAG; i++) {
    const c = tag.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    const p = i < PART ? 0 : i < 2 * PART ? 1 : 2;
    parts[p] = parts[p] * 10 + c - 48;
  }
  return parts;
}

export class TagIds {
  private count = 0;
  /** By id: the tag's three parts (see `PART`), -1 for a tag that is not 20 digits (for ranks and comparisons). */
  partA = new Int32Array(1024);
  partB = new Int32Array(1024);
  partC = new Int32Array(1024);
  /** By id: the tag's 20 bytes at `20 * id` (zeros for a tag that is not 20 digits). */
  digits = Buffer.alloc(1024 * TAG);
  /** Open addressing, at most half full: per slot the tag's three parts and its id + 1 (see `SLOT`). */
  private table = new Int32Array(4096 * SLOT);
  private digitTags = 0;
  /** Tags that are not 20 digits (only ever looked up, from a configuration: they name no object). */
  private readonly others = new Map<string, number>();
  private readonly otherTags: string[] = [];

  get size(): number {
    return this.count;
  }

  /** The tag of `id`. */
  tag(id: number): string {
    if ((this.partA[id] as number) < 0) return this.otherTags[id] as string;
    return this.digits.toString("latin1", TAG * id, TAG * id + TAG);
  }

  /** The id of the tag with these parts, or -1. */
  private find(a: number, b: number, c: number): number {
    const { table } = this;
    const mask = (table.length >>> 2) - 1;
    for (let i = hashOf(a, b, c) & mask; ; i = (i + 1) & mask) {
      const slot = i * SLOT;
      const id = table[slot + 3] as number;
      if (id === 0) return -1;
      if (table[slot] === a && table[slot + 1] === b && table[slot + 2] === c) return id - 1;
    }
  }

  private place(table: Int32Array, a: number, b: number, c: number, id: number): void {
    const mask = (table.length >>> 2) - 1;
    let i = hashOf(a, b, c) & mask;
    while (table[i * SLOT + 3] !== 0) i = (i + 1) & mask;
    const slot = i * SLOT;
    table[slot] = a;
    table[slot + 1] = b;
    table[slot + 2] = c;
    table[slot + 3] = id + 1;
  }

  private push(a: number, b: number, c: number): number {
    const id = this.count++;
    if (id >= this.partA.length) {
      const grow = (old: Int32Array) => {
        const out = new Int32Array(old.length * 2);
        out.set(old);
        return out;
      };
      this.partA = grow(this.partA);
      this.partB = grow(this.partB);
      this.partC = grow(this.partC);
      const d = Buffer.alloc(this.digits.length * 2);
      this.digits.copy(d);
      this.digits = d;
    }
    this.partA[id] = a;
    this.partB[id] = b;
    this.partC[id] = c;
    return id;
  }

  /** Numbers a new 20-digit tag. */
  private add(a: number, b: number, c: number): number {
    const id = this.push(a, b, c);
    this.digitTags++;
    if (4 * this.digitTags > this.table.length >>> 1) {
      // Moved in the old table's order: each lands at its old place or one table-size on (bar collisions), so the
      // new table is written almost in order, not at random (a miss per tag, measured: most of a rehash's time).
      const old = this.table;
      const table = new Int32Array(old.length * 2);
      for (let slot = 0; slot < old.length; slot += SLOT) {
        const was = old[slot + 3] as number;
        if (was !== 0)
          this.place(table, old[slot] as number, old[slot + 1] as number, old[slot + 2] as number, was - 1);
      }
      this.table = table;
    }
    this.place(this.table, a, b, c, id);
    return id;
  }

  /**
   * The id of the tag whose three parts are `parts[k, k + 3)` (from `readTagDigits`) and whose 20 digits are at
   * `bytes[at]`, numbered now if new.
   */
  internParts(parts: Int32Array, k: number, bytes: Buffer, at: number): number {
    const a = parts[k] as number;
    const b = parts[k + 1] as number;
    const c = parts[k + 2] as number;
    const found = this.find(a, b, c);
    if (found >= 0) return found;
    const id = this.add(a, b, c);
    const { digits } = this;
    for (let i = 0; i < TAG; i++) digits[TAG * id + i] = bytes[at + i] as number;
    return id;
  }

  /** The id of the 20 digits at `bytes[at]`, numbered now if new (the caller has checked they are digits). */
  internBytes(bytes: Buffer, at: number): number {
    let a = 0;
    let b = 0;
    let c = 0;
    for (let i = at; i < at + PART; i++) a = a * 10 + (bytes[i] as number) - 48;
    for (let i = at + PART; i < at + 2 * PART; i++) b = b * 10 + (bytes[i] as number) - 48;
    for (let i = at + 2 * PART; i < at + TAG; i++) c = c * 10 + (bytes[i] as number) - 48;
    const found = this.find(a, b, c);
    if (found >= 0) return found;
    const id = this.add(a, b, c);
    const { digits } = this;
    for (let i = 0; i < TAG; i++) digits[TAG * id + i] = bytes[at + i] as number;
    return id;
  }

  /** The id of `tag`, numbered now if new. */
  intern(tag: string): number {
    const parts = partsOf(tag);
    if (!parts) {
      let id = this.others.get(tag);
      if (id === undefined) {
        id = this.push(-1, -1, -1);
        this.others.set(tag, id);
        this.otherTags[id] = tag;
      }
      return id;
    }
    const [a, b, c] = parts;
    const found = this.find(a, b, c);
    if (found >= 0) return found;
    const id = this.add(a, b, c);
    this.digits.write(tag, TAG * id, "latin1");
    return id;
  }

  /** The id of `tag`, or undefined when it was never numbered. */
  get(tag: string): number | undefined {
    const parts = partsOf(tag);
    if (!parts) return this.others.get(tag);
    const id = this.find(parts[0], parts[1], parts[2]);
    return id < 0 ? undefined : id;
  }

  /** Orders ids as their tags compare as strings (for 20-digit tags, as numbers). */
  readonly compare = (x: number, y: number): number => {
    const { partA, partB, partC } = this;
    const ax = partA[x] as number;
    const ay = partA[y] as number;
    if (ax >= 0 && ay >= 0) {
      if (ax !== ay) return ax - ay;
      const bx = partB[x] as number;
      const by = partB[y] as number;
      return bx !== by ? bx - by : (partC[x] as number) - (partC[y] as number);
    }
    const [s, t] = [this.tag(x), this.tag(y)];
    return s < t ? -1 : s > t ? 1 : 0;
  };

  /**
   * Every id's place in tag order (`rank[id]`), and the ids in that order. One sort of all the ids, so per-file sorts
   * can compare plain numbers: when every tag is 20 digits, a radix sort on the three parts (least significant
   * first, 11 bits a pass, passes where every id has the same digit skipped), else the comparator. Two numeric
   * sorts of 100,000 doubles and a table lookup per id cost ~25 ms of a snapshot; this, a few.
   */
  ranks(): { rank: Int32Array; byRank: Int32Array } {
    const n = this.count;
    let byRank = new Int32Array(n);
    for (let i = 0; i < n; i++) byRank[i] = i;
    if (this.others.size > 0) byRank.sort(this.compare);
    else if (n > 1) {
      let spare = new Int32Array(n);
      const count = new Int32Array(RADIX + 1);
      for (const [part, bits] of [
        [this.partC, PART_C_BITS],
        [this.partB, PART_BITS],
        [this.partA, PART_BITS],
      ] as const) {
        for (let shift = 0; shift < bits; shift += RADIX_BITS) {
          if (radixPass(part, shift, byRank, spare, count)) [byRank, spare] = [spare, byRank];
        }
      }
    }
    const rank = new Int32Array(n);
    for (let i = 0; i < n; i++) rank[byRank[i] as number] = i;
    return { rank, byRank };
  }
}

const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;
/** Bits of a part: parts a and b are below 10^8 < 2^27, part c below 10^4 < 2^14. */
const PART_BITS = 27;
const PART_C_BITS = 14;

/**
 * One stable pass of a radix sort: `from`'s ids by the digit of `part[id]` at `shift`, into `to`. False (nothing
 * moved) when every id has the same digit there.
 */
function radixPass(part: Int32Array, shift: number, from: Int32Array, to: Int32Array, count: Int32Array): boolean {
  const n = from.length;
  count.fill(0);
  for (let i = 0; i < n; i++) (count[(((part[from[i] as number] as number) >>> shift) & (RADIX - 1)) + 1] as number)++;
  if (count[(((part[from[0] as number] as number) >>> shift) & (RADIX - 1)) + 1] === n) return false;
  for (let d = 0; d < RADIX; d++) (count[d + 1] as number) += count[d] as number;
  for (let i = 0; i < n; i++) {
    const id = from[i] as number;
    to[(count[((part[id] as number) >>> shift) & (RADIX - 1)] as number)++] = id;
  }
  return true;
}
