#!/usr/bin/env node
import { Command } from "commander";
import { demoCommand } from "./commands/demo.js";
import { rulesExplainCommand } from "./commands/rules-explain.js";
import { validateCommand } from "./commands/validate.js";
import { ExitCode, type Output, reportError, stdio } from "./output.js";

const VERSION = "0.1.0";

function outputFor(command: Command): Output {
  return { ...stdio, json: Boolean(command.optsWithGlobals().json) };
}

/** Builds the program; `run` is separate so tests can drive it in-process as well as through the binary. */
export function buildProgram(): Command {
  const program = new Command("rollway")
    .description("No-downtime releases on Kubernetes: validate, route, roll out, promote and roll back.")
    .version(VERSION)
    .option("--json", "print machine-readable JSON instead of text")
    .showSuggestionAfterError()
    .exitOverride();
  program.addHelpText(
    "after",
    `
Exit codes: 0 ok, 1 failed, 2 bad input, 3 timed out.

Examples:
  $ rollway demo
  $ rollway validate payload.json
  $ rollway rules explain --payload payload.json --backends backend-1,backend-2`,
  );

  program
    .command("demo")
    .description("run the main job on the embedded default (the seed's example payload)")
    .action((_opts, command: Command) => demoCommand(outputFor(command)));

  program
    .command("validate")
    .description("validate a deploy payload file (- for standard input)")
    .argument("<payload>", "payload file, or - for standard input")
    .addHelpText(
      "after",
      "\nExamples:\n  $ rollway validate payload.json\n  $ cat payload.json | rollway validate - --json",
    )
    .action(async (file: string, _opts, command: Command) => {
      await validateCommand(file, outputFor(command));
    });

  program
    .command("rules")
    .description("deploy rules")
    .command("explain")
    .description("show which backend gets which image, and the rule that chose it")
    .requiredOption("--payload <file>", "payload file, or - for standard input")
    .requiredOption("--backends <names>", "comma-separated backend names")
    .addHelpText(
      "after",
      "\nExample:\n  $ rollway rules explain --payload payload.json --backends backend-1,backend-2,backend-3",
    )
    .action((opts: { payload: string; backends: string }, command: Command) =>
      rulesExplainCommand(opts, outputFor(command)),
    );

  return program;
}

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return ExitCode.ok;
  } catch (error) {
    const commanderCode = (error as { code?: string }).code;
    if (commanderCode?.startsWith("commander.")) {
      // commander has already printed help, the version or a usage error.
      return commanderCode === "commander.helpDisplayed" || commanderCode === "commander.version"
        ? ExitCode.ok
        : ExitCode.badInput;
    }
    return reportError({ ...stdio, json: argv.includes("--json") }, error);
  }
}

process.exitCode = await run(process.argv.slice(2));
