/**
 * Numbers for tags. A tag is 20 digits: too long for one exact JavaScript number, so it is kept as two (its first and
 * last ten digits) and as its 20 bytes, and found again through an open-addressing table on typed arrays. Measured: a
 * `Map` keyed by 20-digit strings costs several times more per lookup than one keyed by numbers, a `Map` keyed by
 * numbers past 2^31 boxes each key, and 100,000 tag strings kept alive cost the GC; a snapshot looks up every tag of
 * every relation. A tag's string is made only when asked for (`tag(id)`).
 */
const HALF = 10;
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
  /** Open addressing: id + 1 per slot, 0 for an empty one; at most half full. */
  private slots = new Int32Array(2048);
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
    const { slots } = this;
    const mask = slots.length - 1;
    for (let i = hashOf(high, low) & mask; ; i = (i + 1) & mask) {
      const slot = slots[i] as number;
      if (slot === 0) return undefined;
      const id = slot - 1;
      if (this.low[id] === low && this.high[id] === high) return id;
    }
  }

  private place(id: number): void {
    const { slots } = this;
    const mask = slots.length - 1;
    let i = hashOf(this.high[id] as number, this.low[id] as number) & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = id + 1;
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
    if (2 * (this.count - this.others.size) > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2);
      for (let i = 0; i < this.count; i++) if ((this.high[i] as number) >= 0) this.place(i);
    } else this.place(id);
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
   * can compare plain numbers.
   */
  ranks(): { rank: Int32Array; byRank: Int32Array } {
    const n = this.count;
    const byRank = new Int32Array(n);
    for (let i = 0; i < n; i++) byRank[i] = i;
    byRank.sort(this.compare);
    const rank = new Int32Array(n);
    for (let i = 0; i < n; i++) rank[byRank[i] as number] = i;
    return { rank, byRank };
  }
}
