/**
 * The snapshooter configuration file, exactly as seed 004 writes it: an array of entries, each with a `snapshooter`
 * part (what to save, where) and an optional `git` part (where to commit and push it).
 */

import { readFile } from "node:fs/promises";
import path from "node:path";
import { findNodeAtLocation, type ParseError, parse, parseTree, printParseErrorCode } from "jsonc-parser";
import { LinesAndColumns } from "lines-and-columns";
import { z } from "zod";
import { SnapshooterError, type SnapshooterProblem } from "./errors.js";
import { TAG_PATTERN } from "./model.js";

export const DEFAULT_COMMIT_MESSAGE = "Snapshot at {date} in {folder}";

const tag = z
  .string({
    error: (issue) =>
      typeof issue.input === "number"
        ? "must be a string of 20 digits in quotes: as a JSON number a tag loses its last digits"
        : "must be a tag of 20 digits in quotes",
  })
  .regex(TAG_PATTERN, { error: "must be a tag of exactly 20 digits, such as 10000000000000000000" });

const outputDir = z
  .string()
  .min(1, { error: "must not be empty" })
  .refine((dir) => !dir.split(/[\\/]/).includes(".."), { error: "must not go up with '..'" })
  .refine((dir) => !dir.split(/[\\/]/).includes(".git"), { error: "must not be inside .git" });

export const snapshooterPartSchema = z.strictObject({
  name: z.string().trim().min(1, { error: "must be a non-empty name" }),
  rootTags: z.array(tag).min(1, { error: "must list at least one tag to snapshot" }),
  exclude: z.array(tag).default([]),
  outputDir,
});

// A git branch name as `git check-ref-format --branch` accepts it, in its common subset.
const BRANCH = /^(?!\/|.*\/\/|.*\/$|.*\.\.|.*@\{|.*\.lock$|.*\.$|-)[^\s~^:?*[\\\p{Cc}]+$/u;

export const gitPartSchema = z.strictObject({
  repo: z
    .string()
    .min(1, { error: "must be the repository URL or path to clone, such as https://<token>@host/org/repo.git" }),
  branch: z.string().regex(BRANCH, { error: "must be a valid git branch name, such as master" }),
  commitMessage: z
    .string()
    .trim()
    .min(1, { error: "must not be empty; use placeholders {date} and {folder}" })
    .default(DEFAULT_COMMIT_MESSAGE),
});

export const snapshooterEntrySchema = z.strictObject({
  snapshooter: snapshooterPartSchema,
  git: gitPartSchema.optional(),
});

export const snapshooterConfigSchema = z
  .array(snapshooterEntrySchema)
  .min(1, { error: "must list at least one entry" })
  .superRefine((entries, ctx) => {
    const seen = new Map<string, number>();
    entries.forEach((entry, index) => {
      const first = seen.get(entry.snapshooter.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [index, "snapshooter", "name"],
          message: `repeats the name of entry ${first}; names select entries with --entry, so they must be unique`,
        });
      } else seen.set(entry.snapshooter.name, index);
    });
  });

export type SnapshooterEntry = z.output<typeof snapshooterEntrySchema>;
export type SnapshooterConfig = z.output<typeof snapshooterConfigSchema>;
/** What a user may write: `exclude` and `git.commitMessage` may be left out. */
export type SnapshooterConfigInput = z.input<typeof snapshooterConfigSchema>;

/** The JSON Schema of the configuration file, generated from the zod schema (its single source of truth). */
export function snapshooterConfigJsonSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://rollway.dev/schemas/snapshooter-config.schema.json",
    title: "rollway snapshooter configuration",
    ...z.toJSONSchema(snapshooterConfigSchema, { io: "input", target: "draft-2020-12" }),
  };
}

function entryLabel(input: unknown, index: number): string {
  const name = Array.isArray(input)
    ? (input[index] as { snapshooter?: { name?: unknown } })?.snapshooter?.name
    : undefined;
  return typeof name === "string" && name.trim() !== "" ? `entry ${index} (${JSON.stringify(name)})` : `entry ${index}`;
}

function issuePath(input: unknown, issuePath: readonly PropertyKey[]): string {
  const [first, ...rest] = issuePath;
  if (typeof first !== "number") return "(config)";
  let out = entryLabel(input, first);
  for (const key of rest) out += typeof key === "number" ? `[${key}]` : `.${String(key)}`;
  return out;
}

/**
 * Validates a configuration already parsed from JSON. Every problem is listed at once, each naming the entry (by
 * index and name) and the field. `text`, when given, lets problems carry the line and column.
 */
export function parseSnapshooterConfig(input: unknown, source?: { file?: string; text?: string }): SnapshooterConfig {
  const result = snapshooterConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const tree = source?.text === undefined ? undefined : parseTree(source.text);
  const problems: SnapshooterProblem[] = result.error.issues.map((issue) => {
    const problem: SnapshooterProblem = { path: issuePath(input, issue.path), message: issue.message };
    const node = tree && findNodeAtLocation(tree, issue.path as (string | number)[]);
    if (node && source?.text !== undefined) Object.assign(problem, lineColumn(source.text, node.offset));
    return problem;
  });
  const where = source?.file ? ` ${source.file}` : "";
  throw new SnapshooterError(
    "INVALID_CONFIG",
    `the snapshooter configuration${where} is invalid (${problems.length === 1 ? "1 problem" : `${problems.length} problems`}):`,
    { problems },
  );
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const at = new LinesAndColumns(text).locationForIndex(Math.min(offset, text.length));
  return { line: (at?.line ?? 0) + 1, column: (at?.column ?? 0) + 1 };
}

/** Parses configuration text; a syntax error says where (line, column) and never quotes the text, which holds tokens. */
export function parseSnapshooterConfigText(text: string, file?: string): SnapshooterConfig {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (errors.length > 0) {
    const problems = errors.map((e) => ({
      path: file ?? "(config)",
      message: `${describeParseError(printParseErrorCode(e.error))}`,
      ...lineColumn(text, e.offset),
    }));
    throw new SnapshooterError(
      "INVALID_CONFIG",
      `the snapshooter configuration${file ? ` ${file}` : ""} is not valid JSON:`,
      {
        problems,
      },
    );
  }
  return parseSnapshooterConfig(value, { text, ...(file === undefined ? {} : { file }) });
}

function describeParseError(code: string): string {
  switch (code) {
    case "PropertyNameExpected":
    case "ValueExpected":
      return `${code === "ValueExpected" ? "a value" : "a property name"} is expected here (a trailing comma?)`;
    case "CommaExpected":
      return "a comma is expected here";
    case "CloseBraceExpected":
      return "a closing } is expected here";
    case "CloseBracketExpected":
      return "a closing ] is expected here";
    case "InvalidCommentToken":
      return "comments are not allowed in JSON";
    default:
      return `invalid JSON (${code})`;
  }
}

/** Reads and validates a configuration file. */
export async function loadSnapshooterConfig(file: string): Promise<SnapshooterConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new SnapshooterError("CONFIG_NOT_FOUND", `cannot read the snapshooter configuration ${path.resolve(file)}`, {
      problems: [{ path: file, message: (error as NodeJS.ErrnoException).code ?? String(error) }],
      cause: error,
    });
  }
  return parseSnapshooterConfigText(text, file);
}

/**
 * The commit message with its placeholders filled: `{date}` as seed 004's `yyyy.MM.dd hh:mm:ss` (24-hour clock, UTC,
 * so a cron job's messages do not depend on the machine's time zone) and `{folder}` as the entry's outputDir.
 */
export function formatCommitMessage(template: string, values: { date: Date; folder: string }): string {
  const d = values.date;
  const p = (n: number) => String(n).padStart(2, "0");
  const date = `${d.getUTCFullYear()}.${p(d.getUTCMonth() + 1)}.${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return template.replaceAll("{date}", date).replaceAll("{folder}", values.folder);
}
