/**
 * Numbers for tags. A tag is 20 digits: too long for one exact JavaScript number, so it is kept as two (its first and
 * last ten digits), and found again through an open-addressing table on typed arrays. Measured: a `Map` keyed by
 * 20-digit strings costs several times more per lookup than one keyed by numbers, and a `Map` keyed by numbers past
 * 2^31 boxes each key; a snapshot looks up every tag of every relation.
 */
const HALF = 10;

function isDigitTag(tag: string): boolean {
  if (tag.length !== 2 * HALF) return false;
  for (let i = 0; i < tag.length; i++) {
    const c = tag.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function hashOf(high: number, low: number): number {
  // ToInt32 keeps the low 32 bits of each half: enough to spread them.
  let h = Math.imul(high | 0, 0x9e3779b1) ^ (low | 0) ^ Math.imul((low / 0x100000000) | 0, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return h ^ (h >>> 15);
}

export class TagIds {
  /** Tag by id. */
  readonly tags: string[] = [];
  /** By id: the first and last ten digits, -1 for a tag that is not 20 digits. */
  high = new Float64Array(1024);
  low = new Float64Array(1024);
  /** By id: the tag's 20 bytes at `20 * id` (zeros for a tag that is not 20 digits). */
  digits = new Uint8Array(1024 * 2 * HALF);
  /** Open addressing: id + 1 per slot, 0 for an empty one; at most half full. */
  private slots = new Int32Array(2048);
  /** Tags that are not 20 digits (only ever looked up, from a configuration: they name no object). */
  private readonly others = new Map<string, number>();

  get size(): number {
    return this.tags.length;
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

  private push(tag: string, high: number, low: number): number {
    const id = this.tags.push(tag) - 1;
    if (id >= this.high.length) {
      const [h, l] = [new Float64Array(this.high.length * 2), new Float64Array(this.low.length * 2)];
      h.set(this.high);
      l.set(this.low);
      [this.high, this.low] = [h, l];
      const d = new Uint8Array(this.digits.length * 2);
      d.set(this.digits);
      this.digits = d;
    }
    this.high[id] = high;
    this.low[id] = low;
    if (high >= 0) {
      const { digits } = this;
      for (let i = 0; i < 2 * HALF; i++) digits[2 * HALF * id + i] = tag.charCodeAt(i);
    }
    return id;
  }

  private add(tag: string, high: number, low: number): number {
    const id = this.push(tag, high, low);
    if (2 * (this.tags.length - this.others.size) > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2);
      for (let i = 0; i < this.tags.length; i++) if ((this.high[i] as number) >= 0) this.place(i);
    } else this.place(id);
    return id;
  }

  /** The id of the 20 digits at `bytes[at]`, numbered now if new (the caller has checked they are digits). */
  internBytes(bytes: Buffer, at: number): number {
    let high = 0;
    let low = 0;
    for (let i = at; i < at + HALF; i++) high = high * 10 + (bytes[i] as number) - 48;
    for (let i = at + HALF; i < at + 2 * HALF; i++) low = low * 10 + (bytes[i] as number) - 48;
    const id = this.find(high, low);
    if (id !== undefined) return id;
    return this.add(bytes.toString("latin1", at, at + 2 * HALF), high, low);
  }

  /** The id of `tag`, numbered now if new. */
  intern(tag: string): number {
    if (!isDigitTag(tag)) {
      let id = this.others.get(tag);
      if (id === undefined) {
        id = this.push(tag, -1, -1);
        this.others.set(tag, id);
      }
      return id;
    }
    const high = Number(tag.slice(0, HALF));
    const low = Number(tag.slice(HALF));
    return this.find(high, low) ?? this.add(tag, high, low);
  }

  /** The id of `tag`, or undefined when it was never numbered. */
  get(tag: string): number | undefined {
    if (!isDigitTag(tag)) return this.others.get(tag);
    return this.find(Number(tag.slice(0, HALF)), Number(tag.slice(HALF)));
  }

  /** Orders ids as their tags compare as strings (for 20-digit tags, as numbers). */
  readonly compare = (a: number, b: number): number => {
    const ha = this.high[a] as number;
    const hb = this.high[b] as number;
    if (ha >= 0 && hb >= 0) return ha !== hb ? ha - hb : (this.low[a] as number) - (this.low[b] as number);
    const [x, y] = [this.tags[a] as string, this.tags[b] as string];
    return x < y ? -1 : x > y ? 1 : 0;
  };

  /**
   * Every id's place in tag order (`rank[id]`), and the ids in that order. One sort of all the ids, so per-file sorts
   * can compare plain numbers.
   */
  ranks(): { rank: Int32Array; byRank: Int32Array } {
    const n = this.tags.length;
    const byRank = new Int32Array(n);
    for (let i = 0; i < n; i++) byRank[i] = i;
    byRank.sort(this.compare);
    const rank = new Int32Array(n);
    for (let i = 0; i < n; i++) rank[byRank[i] as number] = i;
    return { rank, byRank };
  }
}
