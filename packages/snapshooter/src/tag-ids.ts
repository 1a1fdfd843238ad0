/**
 * Numbers for tags. A tag is 20 digits: too long for one exact JavaScript number, so it is kept as two (its first and
 * last ten digits) and as its 20 bytes, and found again through an open-addressing table on typed arrays. Measured: a
 * `Map` keyed by 20-digit strings costs several times more per lookup than one keyed by numbers, a `Map` keyed by
 * numbers past 2^31 boxes each key, and 100,000 tag strings kept alive cost the GC; a snapshot looks up every tag of
 * every relation. A tag's string is made only when asked for (`tag(id)`).
 */
const HALF = 10;
/**
 * A table slot is two exact doubles: a tag's half (< 10^10 < 2^34) plus, above it, one part of its id + 1 (the id
 * split in two parts below 2^19, so ids up to 2^38 fit under 2^53). 16 bytes a slot instead of 32: the table, read
 * at random once per tag of every record, misses the cache less (measured: -20% for interning a snapshot's tags).
 */
const SHIFT = 2 ** 34;
const INV = 2 ** -34;
const ID_SPLIT = 2 ** 19;
const TAG = 2 * HALF;

function hashOf(high: number, low: number): number {
  // ToInt32 keeps the low 32 bits of each half: enough to spread them.
  let h = Math.imul(high | 0, 0x9e3779b1) ^ (low | 0) ^ Math.imul((low / 0x100000000) | 0, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return h ^ (h >>> 15);
}

/** The two halves of a 20-digit tag, or undefined for any other string. */
function halvesOf(tag: string): [number, number] | undefined {
  if (tag.length !== TAG) return undefined;
  let high = 0;
  let low = 0;
  for (let i = 0; i < TAG; i++) {
    const c = tag.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    if (i < HALF) high = high * 10 + c - 48;
    else low = low * 10 + c - 48;
  }
  return [high, low];
}

export class TagIds {
  private count = 0;
  /** By id: the first and last ten digits, -1 for a tag that is not 20 digits. */
  high = new Float64Array(1024);
  low = new Float64Array(1024);
  /** By id: the tag's 20 bytes at `20 * id` (zeros for a tag that is not 20 digits). */
  digits = Buffer.alloc(1024 * TAG);
  /**
   * Open addressing, at most half full: per slot two numbers, the tag's halves with its id + 1 packed above them
   * (both 0: an empty slot), so a lookup reads one cache line (a table of ids beside the halves by id cost three
   * misses per lookup).
   */
  private table = new Float64Array(4096 * 2);
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

  private find(high: number, low: number): number | undefined {
    const { table } = this;
    const mask = (table.length >>> 1) - 1;
    for (let i = hashOf(high, low) & mask; ; i = (i + 1) & mask) {
      const a = table[2 * i] as number;
      const b = table[2 * i + 1] as number;
      if (a === 0 && b === 0) return undefined;
      const aHi = Math.floor(a * INV);
      const bHi = Math.floor(b * INV);
      if (b - bHi * SHIFT === low && a - aHi * SHIFT === high) return aHi * ID_SPLIT + bHi - 1;
    }
  }

  private place(table: Float64Array, high: number, low: number, slot: number): void {
    const mask = (table.length >>> 1) - 1;
    let i = hashOf(high, low) & mask;
    while (table[2 * i] !== 0 || table[2 * i + 1] !== 0) i = (i + 1) & mask;
    const hi = Math.floor(slot / ID_SPLIT);
    table[2 * i] = high + hi * SHIFT;
    table[2 * i + 1] = low + (slot - hi * ID_SPLIT) * SHIFT;
  }

  private push(high: number, low: number): number {
    const id = this.count++;
    if (id >= this.high.length) {
      const [h, l] = [new Float64Array(this.high.length * 2), new Float64Array(this.low.length * 2)];
      h.set(this.high);
      l.set(this.low);
      [this.high, this.low] = [h, l];
      const d = Buffer.alloc(this.digits.length * 2);
      this.digits.copy(d);
      this.digits = d;
    }
    this.high[id] = high;
    this.low[id] = low;
    return id;
  }

  private add(high: number, low: number): number {
    const id = this.push(high, low);
    if (4 * (this.count - this.others.size) > this.table.length) {
      // Moved in the old table's order: each lands at its old place or one table-size on (bar collisions), so the
      // new table is written almost in order, not at random (a miss per tag, measured: most of a rehash's time).
      const old = this.table;
      const table = new Float64Array(old.length * 2);
      for (let i = 0; i < old.length; i += 2) {
        const a = old[i] as number;
        const b = old[i + 1] as number;
        if (a === 0 && b === 0) continue;
        const aHi = Math.floor(a * INV);
        const bHi = Math.floor(b * INV);
        this.place(table, a - aHi * SHIFT, b - bHi * SHIFT, aHi * ID_SPLIT + bHi);
      }
      this.table = table;
    }
    this.place(this.table, high, low, id + 1);
    return id;
  }

  /** The id of the 20 digits at `bytes[at]`, numbered now if new (the caller has checked they are digits). */
  internBytes(bytes: Buffer, at: number): number {
    let high = 0;
    let low = 0;
    for (let i = at; i < at + HALF; i++) high = high * 10 + (bytes[i] as number) - 48;
    for (let i = at + HALF; i < at + TAG; i++) low = low * 10 + (bytes[i] as number) - 48;
    const found = this.find(high, low);
    if (found !== undefined) return found;
    const id = this.add(high, low);
    const { digits } = this;
    for (let i = 0; i < TAG; i++) digits[TAG * id + i] = bytes[at + i] as number;
    return id;
  }

  /** The id of `tag`, numbered now if new. */
  intern(tag: string): number {
    const halves = halvesOf(tag);
    if (!halves) {
      let id = this.others.get(tag);
      if (id === undefined) {
        id = this.push(-1, -1);
        this.others.set(tag, id);
        this.otherTags[id] = tag;
      }
      return id;
    }
    const [high, low] = halves;
    const found = this.find(high, low);
    if (found !== undefined) return found;
    const id = this.add(high, low);
    this.digits.write(tag, TAG * id, "latin1");
    return id;
  }

  /** The id of `tag`, or undefined when it was never numbered. */
  get(tag: string): number | undefined {
    const halves = halvesOf(tag);
    return halves ? this.find(halves[0], halves[1]) : this.others.get(tag);
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
        byRank[r] = this.find(highs[(key - low) / 1e10] as number, low) as number;
      }
    }
    for (let i = 0; i < n; i++) rank[byRank[i] as number] = i;
    return { rank, byRank };
  }
}
