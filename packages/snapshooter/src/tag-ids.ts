/**
 * Numbers for tags. A tag is 20 digits: too long for one exact JavaScript number, so it is kept as two (its first and
 * last ten digits), and looked up in maps keyed by numbers. Measured: a `Map` keyed by 20-digit strings costs several
 * times more per lookup than one keyed by numbers, and a snapshot looks up every tag of every relation.
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

export class TagIds {
  /** Tag by id. */
  readonly tags: string[] = [];
  private readonly high: number[] = [];
  private readonly low: number[] = [];
  private readonly byHigh = new Map<number, Map<number, number>>();
  /** Tags that are not 20 digits (only ever looked up, from a configuration: they name no object). */
  private readonly others = new Map<string, number>();

  get size(): number {
    return this.tags.length;
  }

  private find(high: number, low: number): number | undefined {
    return this.byHigh.get(high)?.get(low);
  }

  private add(tag: string, high: number, low: number): number {
    const id = this.tags.push(tag) - 1;
    this.high.push(high);
    this.low.push(low);
    let lows = this.byHigh.get(high);
    if (!lows) {
      lows = new Map();
      this.byHigh.set(high, lows);
    }
    lows.set(low, id);
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
        id = this.tags.push(tag) - 1;
        this.high.push(-1);
        this.low.push(-1);
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
}
