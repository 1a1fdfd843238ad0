/** `rollway completion <shell>`: a completion script for bash, zsh or fish, generated from the command tree. */
import type { Command } from "commander";
import { CliError, ExitCode, type Output } from "../output.js";

function walk(command: Command, path: string[] = []): { path: string[]; subcommands: string[]; options: string[] }[] {
  const options = command.options
    .filter((o) => o.long !== "--version")
    .flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));
  const own = { path, subcommands: command.commands.map((c) => c.name()), options: [...options, "--help"] };
  return [own, ...command.commands.flatMap((c) => walk(c, [...path, c.name()]))];
}

export function completionCommand(shell: string, program: Command, output: Output): void {
  const nodes = walk(program);
  const globals = nodes[0]?.options ?? [];
  const words = (n: (typeof nodes)[number]) =>
    [...new Set([...n.subcommands, ...n.options, ...(n.path.length ? globals : [])])].join(" ");
  if (shell === "bash" || shell === "zsh") {
    const cases = nodes.map((n) => `    "${n.path.join(" ")}") words="${words(n)}" ;;`).join("\n");
    const script = `# rollway completion for ${shell}: source it, e.g. rollway completion ${shell} >> ~/.${shell}rc
${shell === "zsh" ? "autoload -U +X bashcompinit && bashcompinit\n" : ""}_rollway() {
  local cur path="" w words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) path="\${path:+$path }$w" ;; esac
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _rollway rollway
`;
    output.out(script);
    return;
  }
  if (shell === "fish") {
    const lines = nodes.flatMap((n) => {
      const cond = n.path.length === 0 ? "__fish_use_subcommand" : `__fish_seen_subcommand_from ${n.path.at(-1)}`;
      return n.subcommands.map((s) => `complete -c rollway -f -n '${cond}' -a ${s}`);
    });
    const opts = globals.filter((o) => o.startsWith("--")).map((o) => `complete -c rollway -l ${o.slice(2)}`);
    output.out(
      `# rollway completion for fish: rollway completion fish > ~/.config/fish/completions/rollway.fish\n${[...lines, ...opts].join("\n")}\n`,
    );
    return;
  }
  throw new CliError(`no completion for shell ${JSON.stringify(shell)}; use bash, zsh or fish`, ExitCode.badInput);
}
