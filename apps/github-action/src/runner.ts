/**
 * The Actions runner's file and workflow-command protocol: inputs from INPUT_* variables, outputs appended to the
 * GITHUB_OUTPUT file, the job summary to GITHUB_STEP_SUMMARY, `::add-mask::` and `::error::` lines on stdout.
 * (https://docs.github.com/actions/reference/workflow-commands-for-github-actions)
 */
import { randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";

export function getInput(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return (env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
}

/** Escapes as the runner expects in a command's message and properties. */
const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

export interface Runner {
  info(line: string): void;
  mask(secret: string): void;
  error(message: string, title?: string): void;
  warning(message: string): void;
  setOutput(name: string, value: string): void;
  summary(markdown: string): void;
}

export function runner(env: NodeJS.ProcessEnv = process.env, write = (s: string) => process.stdout.write(s)): Runner {
  const appendTo = (variable: string, text: string) => {
    const file = env[variable];
    if (file) appendFileSync(file, text);
    return Boolean(file);
  };
  return {
    info: (line) => write(`${line}\n`),
    mask: (secret) => {
      for (const line of secret.split(/\r?\n/).filter((l) => l.trim() !== "")) write(`::add-mask::${line}\n`);
    },
    error: (message, title) =>
      write(`::error${title ? ` title=${escapeProperty(title)}` : ""}::${escapeData(message)}\n`),
    warning: (message) => write(`::warning::${escapeData(message)}\n`),
    setOutput(name, value) {
      const delimiter = `ghadelimiter_${randomUUID()}`;
      if (!appendTo("GITHUB_OUTPUT", `${name}<<${delimiter}\n${value}\n${delimiter}\n`)) {
        write(`\n::set-output name=${name}::${escapeData(value)}\n`);
      }
    },
    summary(markdown) {
      appendTo("GITHUB_STEP_SUMMARY", `${markdown}\n`);
    },
  };
}
