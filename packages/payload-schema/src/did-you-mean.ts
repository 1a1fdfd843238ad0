/** The one "did you mean" of every rollway file format (payload, environment file), in a module of its own: the
 * environment file's reader uses it without loading the payload parser. */
import { closest, distance } from "fastest-levenshtein";

/**
 * `; did you mean "host"?` for a key close to an allowed one (same letters, or a few edits away), else the keys
 * allowed here.
 */
export function didYouMean(key: string, known: readonly string[]): string {
  if (known.length === 0) return "";
  const sameLetters = known.find((k) => k.toLowerCase() === key.toLowerCase());
  const near = sameLetters ?? closest(key, known as string[]);
  const close = sameLetters !== undefined || distance(key, near) <= Math.max(2, Math.floor(near.length / 3));
  return close ? `; did you mean "${near}"?` : `; known keys here: ${known.join(", ")}`;
}
