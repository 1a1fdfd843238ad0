/**
 * Numbers for tags. A tag is 20 digits: too long for one exact JavaScript number, so it is kept as its 20 bytes and
 * as two numbers (its first and last ten digits, for ordering), and found again through an open-addressing table on
 * typed arrays. Measured: a
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
  /** By id: the first and last ten digits, -1 for a tag that is not 20 digits (for ranks and comparisons). */
  high = new Float64Array(1024);
  low = new Float64Array(1024);
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
    if ((this.high[id] as number) < 0) return this.otherTags[id] as string;
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

  private push(high: number, low: number): number {
    const id = this.count++;
    if (id >= this.high.length) {
      const h = new Float64Array(this.high.length * 2);
      const l = new Float64Array(this.low.length * 2);
      h.set(this.high);
      l.set(this.low);
      this.high = h;
      this.low = l;
      const d = Buffer.alloc(this.digits.length * 2);
      this.digits.copy(d);
      this.digits = d;
    }
    this.high[id] = high;
    this.low[id] = low;
    return id;
  }

  /** Numbers a new 20-digit tag. */
  private add(a: number, b: number, c: number): number {
    // Digits 0-9 are a's eight and b's first two; 10-19 are b's last six and c's four.
    const id = this.push(a * 100 + Math.floor(b / 1_000_000), (b % 1_000_000) * 10_000 + c);
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
        id = this.push(-1, -1);
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
  readonly compare = (a: number, b: number): number => {
    const ha = this.high[a] as number;
    const hb = this.high[b] as number;
    if (ha >= 0 && hb >= 0) return ha !== hb ? ha - hb : (this.low[a] as number) - (this.low[b] as number);
    const [x, y] = [this.tag(a), this.tag(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  };

  /**
   * Every id's place in tag order (`rank[id]`), and the ids in that order. One sort of all the ids, so per-file sorts
   * can compare plain numbers: a numeric sort of (rank of the first half, last half) as one exact double when every
   * tag is 20 digits (a sort with a comparator cost ~5x more), else the comparator.
   */
  ranks(): { rank: Int32Array; byRank: Int32Array } {
    const n = this.count;
    const byRank = new Int32Array(n);
    const rank = new Int32Array(n);
    const highs = this.high.slice(0, n).sort();
    let distinct = 0;
    for (let i = 0; i < n; i++) if (i === 0 || highs[i] !== highs[i - 1]) highs[distinct++] = highs[i] as number;
    if (this.others.size > 0 || distinct > 900_000) {
      for (let i = 0; i < n; i++) byRank[i] = i;
      byRank.sort(this.compare);
    } else {
      const keys = new Float64Array(n);
      for (let id = 0; id < n; id++) {
        const high = this.high[id] as number;
        let [lo, hi] = [0, distinct - 1];
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if ((highs[mid] as number) < high) lo = mid + 1;
          else hi = mid;
        }
        keys[id] = lo * 1e10 + (this.low[id] as number);
      }
      keys.sort();
      for (let r = 0; r < n; r++) {
        const key = keys[r] as number;
        const low = key % 1e10;
        const high = highs[(key - low) / 1e10] as number;
        byRank[r] = this.find(
          Math.floor(high / 100),
          (high % 100) * 1_000_000 + Math.floor(low / 10_000),
          low % 10_000,
        );
      }
    }
    for (let i = 0; i < n; i++) rank[byRank[i] as number] = i;
    return { rank, byRank };
  }
}
