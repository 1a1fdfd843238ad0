/**
 * Colour and live redraw only for a person at a terminal: off when NO_COLOR is set, TERM is dumb, or the stream is
 * not a TTY (CI logs, pipes, tests), as https://no-color.org asks.
 */
export function isInteractive(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && process.env.TERM !== "dumb" && process.env.CI === undefined;
}

export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY) && process.env.TERM !== "dumb";
}

const codes = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Color = keyof typeof codes;

export function paint(text: string, color: Color, enabled = colorEnabled()): string {
  return enabled ? `\u001b[${codes[color]}m${text}\u001b[0m` : text;
}
