#!/usr/bin/env node
/**
 * The `rollway` binary: parses arguments and loads only the command that runs (each lives in
 * `commands/<verb>.ts` and is imported on demand), so `rollway --version` starts as fast as node itself.
 */
import { Command, Option } from "commander";
import { ExitCode, type Output, reportError, stdio } from "./output.js";

const VERSION = "0.1.0";

export interface GlobalOptions {
  json?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  server?: string;
  token?: string;
}

function outputFor(command: Command): Output {
  return { ...stdio, json: Boolean(command.optsWithGlobals().json) };
}

export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}`;

/** Builds the program; `run` is separate so tests can drive it in-process as well as through the binary. */
export function buildProgram(): Command {
  const program = new Command("rollway")
    .description("No-downtime releases on Kubernetes: validate, route, roll out, promote and roll back.")
    .version(VERSION)
    .option("--json", "print machine-readable JSON instead of text")
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    .option("--context <name>", "kubeconfig context (default: its current-context)")
    .option("-n, --namespace <name>", "namespace (default: the environment's, then the context's)")
    .addOption(new Option("--server <url>", "talk to a rollway server instead of the cluster").env("ROLLWAY_SERVER"))
    .addOption(new Option("--token <token>", "bearer token for --server").env("ROLLWAY_TOKEN"))
    .showSuggestionAfterError()
    .exitOverride();
  program.addHelpText(
    "after",
    `
Exit codes: 0 ok, 1 failed, 2 bad input, 3 timed out.
Colour and spinners only at a terminal; NO_COLOR turns colour off.
${examples(
  "rollway demo",
  "rollway sim                     # a simulated cluster to try every command",
  "rollway deploy payload.json --env environment.yaml --dry-run",
  "rollway status --env environment.yaml --watch",
  "rollway completion bash >> ~/.bashrc",
)}`,
  );

  program
    .command("demo")
    .description("start a simulated cluster, release the seed's example payload to preview, promote it, show history")
    .addOption(
      new Option("--ready-delay <ms>", "how long a simulated pod takes to become ready")
        .default("300")
        .argParser(Number),
    )
    .addHelpText("after", examples("rollway demo", "rollway demo --json | jq -c 'select(.type==\"event\")'"))
    .action(async (opts: { readyDelay: number }, command: Command) => {
      const { demoCommand } = await import("./commands/demo.js");
      await demoCommand({ readyDelayMs: opts.readyDelay }, outputFor(command));
    });

  program
    .command("validate")
    .description("validate a deploy payload file (- for standard input)")
    .argument("<payload>", "payload file, or - for standard input")
    .addHelpText("after", examples("rollway validate payload.json", "cat payload.json | rollway validate - --json"))
    .action(async (file: string, _opts, command: Command) => {
      const { validateCommand } = await import("./commands/validate.js");
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
      examples("rollway rules explain --payload payload.json --backends backend-1,backend-2,backend-3"),
    )
    .action(async (opts: { payload: string; backends: string }, command: Command) => {
      const { rulesExplainCommand } = await import("./commands/rules-explain.js");
      await rulesExplainCommand(opts, outputFor(command));
    });

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
