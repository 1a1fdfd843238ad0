/**
 * The `rollway` program (started by `bin.ts`, the binary's entry): parses arguments and loads only the command that
 * runs (each lives in `commands/<verb>.ts` and is imported on demand), so `rollway --version` starts as fast as node
 * itself.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { CliError, ExitCode, type Output, reportError, stdio } from "./output.js";

const VERSION = "0.1.0";

export interface GlobalOptions {
  json?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  server?: string;
  token?: string;
  project?: string;
}

type SimCommandOptions = import("./commands/sim.js").SimOptions;

/** `--server` given: the command goes to a rollway server's HTTP API instead of the cluster. */
async function remote() {
  return import("./commands/remote.js");
}

function outputFor(command: Command): Output {
  return { ...stdio, json: Boolean(command.optsWithGlobals().json) };
}

export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
}

const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}`;

/**
 * The command `argv` runs: its first word that is neither an option nor a global option's value. `help` and
 * `completion` need every command, so they name none.
 */
function commandIn(argv: readonly string[], program: Command): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") return undefined;
    if (arg.startsWith("-")) {
      const option = program.options.find((o) => o.long === arg || o.short === arg);
      if (option && (option.required || option.optional)) i++;
      continue;
    }
    return arg === "help" || arg === "completion" ? undefined : arg;
  }
  return undefined;
}

/**
 * Builds the program; `run` is separate so tests can drive it in-process as well as through the binary. Given the
 * arguments, only the command they run is built (commander's ~150 options and help texts of the others cost
 * ~10 ms of every start); without them, or for a word that is no command, every command.
 */
export function buildProgram(options: { json?: boolean; argv?: readonly string[] } = {}): Command {
  const program = new Command("rollway")
    .description("No-downtime releases on Kubernetes: validate, route, roll out, promote and roll back.")
    .version(VERSION)
    .option("--json", "print machine-readable JSON instead of text")
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    .option("--context <name>", "kubeconfig context (default: its current-context)")
    .option("-n, --namespace <name>", "namespace (default: the environment's, then the context's)")
    .addOption(new Option("--server <url>", "talk to a rollway server instead of the cluster").env("ROLLWAY_SERVER"))
    .addOption(new Option("--token <token>", "bearer token for --server").env("ROLLWAY_TOKEN"))
    .addOption(new Option("--project <name>", "project in the server's URL (with --server)").env("ROLLWAY_PROJECT"))
    .showSuggestionAfterError()
    .exitOverride();
  // With --json a usage error is the JSON `done` line that `run` prints, not commander's text (set before the
  // subcommands are added: they inherit it).
  if (options.json) program.configureOutput({ outputError: () => {} });
  program.addHelpText(
    "after",
    `
Exit codes: 0 ok, 1 failed, 2 bad input, 3 timed out.
  NOT_RUNNING (nobody runs the release) and NOT_STABLE (a component is not settled: a version in preview, an update under way): 1, nothing done;
  NOT_NEWEST (rollback of an older release without --undoing): 2; TIMEOUT (rolled back): 3.
Colour and spinners only at a terminal; NO_COLOR turns colour off.
${examples(
  "rollway demo",
  "rollway sim                     # a simulated cluster to try every command",
  "rollway deploy payload.json --env environment.yaml --dry-run",
  "rollway status --env environment.yaml --watch",
  "rollway completion bash >> ~/.bashrc",
)}`,
  );

  const only = options.argv ? commandIn(options.argv, program) : undefined;
  const on = (name: string) => (only === undefined || only === name ? program : undefined);

  on("demo")
    ?.command("demo")
    .description("start a simulated cluster, release the seed's example payload to preview, promote it, show history")
    .addOption(
      new Option("--ready-delay <ms>", "how long a simulated pod takes to become ready").default(300).argParser(Number),
    )
    .addHelpText("after", examples("rollway demo", "rollway demo --json | jq -c 'select(.type==\"event\")'"))
    .action(async (opts: { readyDelay: number }, command: Command) => {
      const { demoCommand } = await import("./commands/demo.js");
      await demoCommand({ readyDelayMs: opts.readyDelay }, outputFor(command));
    });

  on("validate")
    ?.command("validate")
    .description("validate a deploy payload, an environment file or a snapshooter configuration (- for standard input)")
    .argument("<file>", "the file, or - for standard input")
    .option("--kind <kind>", "payload, environment or snapshooter (default: guessed from the content)")
    .addHelpText(
      "after",
      examples(
        "rollway validate payload.json",
        "cat payload.json | rollway validate - --json",
        "rollway validate environment.yaml",
        "rollway validate snapshooter.json --kind snapshooter",
      ),
    )
    .action(async (file: string, opts: { kind?: string }, command: Command) => {
      const { validateCommand } = await import("./commands/validate.js");
      await validateCommand(file, opts, outputFor(command));
    });

  on("rules")
    ?.command("rules")
    .description("deploy rules")
    .command("explain")
    .description("show which backend gets which image, and the rule that chose it")
    .option("--payload <file>", "payload file, or - for standard input")
    .option("--backends <names>", "comma-separated backend names")
    .option("--env <file>", "take the backends from this environment file")
    .addHelpText(
      "after",
      examples(
        "rollway rules explain --payload payload.json --backends backend-1,backend-2,backend-3",
        "rollway rules explain --payload payload.json --env environment.yaml",
      ),
    )
    .action(async (opts: { payload?: string; backends?: string; env?: string }, command: Command) => {
      const { rulesExplainCommand } = await import("./commands/rules-explain.js");
      await rulesExplainCommand(opts, outputFor(command));
    });

  /** For the commands that run a release in this process: when time runs out the engine rolls it back. */
  const timeout = () =>
    new Option(
      "--timeout <seconds>",
      "give up after this long and roll the release back to stable; exit code 3",
    ).argParser(positive);
  const envOption = () => new Option("--env <file>", "environment file").env("ROLLWAY_ENV");

  on("deploy")
    ?.command("deploy")
    .description(
      "release a deploy payload to an environment: previews, approval, promotion of every component together",
    )
    .argument("<payload>", "payload file, or - for standard input")
    .addOption(envOption())
    .option("--dry-run", "print the plan and change nothing")
    .option("--wait", "with --server: follow the release until it ends (direct mode always does: the engine runs here)")
    .addOption(timeout())
    .addHelpText(
      "after",
      `
With --server URL --token T --env NAME the payload goes to a rollway server, which runs the release.
In direct mode the release runs in this process until it is promoted, failed or aborted; with manual promotion it
waits for \`rollway promote <release>\` from another terminal. Ctrl-C aborts it back to stable.
${examples(
  "rollway deploy payload.json --env environment.yaml --dry-run",
  "rollway deploy payload.json --env environment.yaml --timeout 900",
  "jq '.frontend.image=\"r/web:2\"' payload.json | rollway deploy - --env environment.yaml --json",
)}`,
    )
    .action(async (payload: string, opts, command: Command) => {
      const globals = globalsOf(command);
      if (globals.server) {
        await (await remote()).remoteDeploy(
          payload,
          { ...globals, server: globals.server, ...opts },
          outputFor(command),
        );
        return;
      }
      const { deployCommand } = await import("./commands/deploy.js");
      await deployCommand(payload, { ...globals, ...opts }, outputFor(command));
    });

  on("plan")
    ?.command("plan")
    .description("show what a payload would change in an environment (reads the cluster, changes nothing)")
    .argument("<payload>", "payload file, or - for standard input")
    .addOption(envOption())
    .addHelpText("after", examples("rollway plan payload.json --env environment.yaml"))
    .action(async (payload: string, opts, command: Command) => {
      const { planCommand } = await import("./commands/plan.js");
      await planCommand(payload, { ...globalsOf(command), ...opts }, outputFor(command));
    });

  on("status")
    ?.command("status")
    .description("every component's phase, replicas and images, and the latest release")
    .addOption(envOption())
    .option("-w, --watch", "follow every component live until --until is met")
    .addOption(
      new Option(
        "--until <state>",
        "with --watch: healthy (across a promotion), paused, or done: nothing moves without a decision",
      ).choices(["healthy", "paused", "done"]),
    )
    .addOption(
      new Option(
        "--timeout <seconds>",
        "wait at most this long (implies --watch; default 600); exit code 3 when it runs out, 1 when a component is Degraded. Changes nothing",
      ).argParser(positive),
    )
    .addHelpText(
      "after",
      examples(
        "rollway status --env environment.yaml",
        "rollway status --watch --until healthy --timeout 300",
        "rollway status --watch --json | jq -c 'select(.type==\"status\")'",
      ),
    )
    .action(async (opts, command: Command) => {
      const globals = globalsOf(command);
      if (globals.server) {
        await (await remote()).remoteStatus({ ...globals, server: globals.server, ...opts }, outputFor(command));
        return;
      }
      const { statusCommand } = await import("./commands/status.js");
      await statusCommand({ ...globals, ...opts }, outputFor(command));
    });

  const decision = (name: "promote" | "approve" | "abort", description: string, extra = "") => {
    if (!on(name)) return;
    const c = program
      .command(name)
      .description(description)
      .argument("<release>", "release id (see rollway history)")
      .addOption(envOption())
      .option("--by <name>", "who decides (default: $USER)");
    // An unknown gate is a usage error (exit 2), never an approval of nothing written into the audit trail.
    if (name === "approve")
      c.addOption(
        new Option("--gate <gate>", "the gate approved").choices(["promotion", "code-as-data"]).default("promotion"),
      );
    c.addHelpText("after", `${extra}${examples(`rollway ${name} demo-20261127-112607-bef9 -n demo`)}`).action(
      async (release: string, opts, command: Command) => {
        const globals = globalsOf(command);
        if (globals.server) {
          const o = { ...globals, server: globals.server, ...opts };
          await (await remote()).remoteDecision(name, release, o, outputFor(command));
          return;
        }
        const { decideCommand } = await import("./commands/decide.js");
        await decideCommand(name, release, { ...globals, ...opts }, outputFor(command));
      },
    );
  };
  decision("promote", "approve the promotion of a release waiting in preview");
  decision("approve", "record an approval of a release's gate (promotion, or code-as-data in manual update mode)");
  decision("abort", "abort a running release: every component back to stable");

  on("rollback")
    ?.command("rollback")
    .description("put every component of a promoted release back to what it replaced, as a new release")
    .argument("<release>", "the promoted release to undo")
    .addOption(envOption())
    .option("--by <name>", "who asks (default: $USER)")
    .addOption(
      new Option(
        "--undoing <ids>",
        "go further back than the newest promoted release: name every newer promoted release it undoes too (comma-separated)",
      ).argParser((v: string) =>
        v
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
      ),
    )
    .addOption(timeout())
    .addHelpText(
      "after",
      `
Only the newest promoted release is rolled back unless --undoing names every newer one (otherwise exit 2, NOT_NEWEST,
nothing changed). A release an abort left failed with components left over is finished the same way.
${examples(
  "rollway rollback demo-20261127-112607-bef9 --env environment.yaml",
  "rollway rollback demo-20261127-112607-bef9 --undoing demo-20261128-090000-a1b2",
)}`,
    )
    .action(async (release: string, opts, command: Command) => {
      const globals = globalsOf(command);
      if (globals.server && opts.undoing) {
        throw new CliError(
          "--undoing is not available with --server yet (the server's rollback takes no list); run it in direct mode with --kubeconfig",
          ExitCode.badInput,
          { code: "USAGE" },
        );
      }
      if (globals.server) {
        const o = { ...globals, server: globals.server, ...opts };
        await (await remote()).remoteDecision("rollback", release, o, outputFor(command));
        return;
      }
      const { rollbackCommand } = await import("./commands/rollback.js");
      await rollbackCommand(release, { ...globals, ...opts }, outputFor(command));
    });

  on("recover")
    ?.command("recover")
    .description(
      "take over the releases of an environment whose engine stopped (its Lease expired) and run them here to their end",
    )
    .argument("[environment]", "the environment's name, as NOT_RUNNING gives it (checked against --env's file)")
    .addOption(envOption())
    .option("--rollback", "put every component back to what users had instead of resuming")
    .option("--wait", "wait for a Lease still held to expire (its engine died moments ago) instead of skipping")
    .addOption(timeout())
    .addHelpText(
      "after",
      `
A release whose \`rollway deploy\` process was killed keeps waiting; decisions on it are refused (NOT_RUNNING, exit 1)
until an engine takes it over. A release with a live engine is never touched.
${examples("rollway recover demo --env environment.yaml", "rollway recover --env environment.yaml --rollback --wait")}`,
    )
    .action(async (environment: string | undefined, opts, command: Command) => {
      const { recoverCommand } = await import("./commands/recover.js");
      await recoverCommand({ ...globalsOf(command), ...opts, environment }, outputFor(command));
    });

  on("dashboard")
    ?.command("dashboard")
    .description("the release dashboard in your browser, against a kubeconfig, on 127.0.0.1 (Ctrl-C stops it)")
    .addOption(new Option("--env <files...>", "environment files to show (default: $ROLLWAY_ENV)"))
    .option("--port <port>", "port (0 picks a free one)", "8090")
    .option("--host <address>", "address to bind", "127.0.0.1")
    .addHelpText(
      "after",
      `
Prints the URL and a token with the approve scope made for this session only: paste it on the sign-in page.
The token is never in a URL and dies with the process.
${examples(
  "rollway dashboard --kubeconfig ~/.kube/config --env environment.yaml",
  "rollway dashboard --env staging.yaml prod.yaml --project shop --port 0 --json",
)}`,
    )
    .action(async (opts: { env?: string[]; port?: string; host?: string }, command: Command) => {
      const globals = globalsOf(command);
      const { dashboardCommand } = await import("./commands/dashboard.js");
      await dashboardCommand(
        {
          ...opts,
          ...(globals.kubeconfig ? { kubeconfig: globals.kubeconfig } : {}),
          ...(globals.project ? { project: globals.project } : {}),
        },
        outputFor(command),
      );
    });

  on("undo")
    ?.command("undo")
    .description("roll one workload back to an earlier revision (as kubectl argo rollouts undo)")
    .argument("<workload>", "Rollout, Canary or Deployment name")
    .addOption(new Option("--to-revision <n>", "the revision (default: the previous one)").argParser(positive))
    .addHelpText("after", examples("rollway undo backend-1 -n demo", "rollway undo backend-1 -n demo --to-revision 1"))
    .action(async (workload: string, opts, command: Command) => {
      const { undoCommand } = await import("./commands/undo.js");
      await undoCommand(workload, { ...globalsOf(command), ...opts }, outputFor(command));
    });

  on("get")
    ?.command("get")
    .description(
      "one workload as a tree (revisions, ReplicaSets with stable/active/preview/canary, pods with status, restarts, reason), or one release (components from → to, state, approvals, events)",
    )
    .argument("<workload|release>", "Rollout, Canary or Deployment name, or a release id")
    .option("-w, --watch", "with a workload: redraw the tree on each change, until Ctrl-C")
    .addOption(envOption())
    .addHelpText(
      "after",
      examples(
        "rollway get backend-1 -n demo",
        "rollway get backend-1 --watch",
        "rollway get demo-20261127-112607-bef9 --env environment.yaml --json",
      ),
    )
    .action(async (workload: string, opts, command: Command) => {
      if (globalsOf(command).server) {
        throw new CliError(
          "rollway get reads the cluster itself: give it --kubeconfig (or KUBECONFIG) instead of --server; with --server, `rollway history <release>` shows one release",
          ExitCode.badInput,
          { code: "USAGE" },
        );
      }
      const { getCommand } = await import("./commands/get.js");
      await getCommand(workload, { ...globalsOf(command), ...opts }, outputFor(command));
    });

  const rollout = on("rollout")
    ?.command("rollout")
    .description(
      "act on one workload as kubectl argo rollouts does (promote, abort, retry, pause, resume, restart...)",
    );
  const verb = (name: string, description: string, configure: (c: Command) => Command = (c) => c) =>
    rollout &&
    configure(
      rollout.command(name).description(description).argument("<workload>", "Rollout, Canary or Deployment name"),
    ).action(async (workload: string, ...rest: unknown[]) => {
      const command = rest.at(-1) as Command;
      const args = name === "set-image" ? (rest[0] as string[]) : [];
      const { rolloutVerbCommand } = await import("./commands/rollout.js");
      await rolloutVerbCommand(
        name as import("./commands/rollout.js").RolloutVerb,
        workload,
        args,
        { ...globalsOf(command), ...command.opts() },
        outputFor(command),
      );
    });
  verb("promote", "promote a paused Rollout to its next step; --full skips every remaining step", (c) =>
    c
      .option("--full", "skip every remaining step, pause and analysis")
      .addHelpText(
        "after",
        examples("rollway rollout promote backend-1 -n demo", "rollway rollout promote backend-1 --full"),
      ),
  );
  verb("abort", "abort the update: traffic back on the stable version (the Rollout stays Degraded until retry)", (c) =>
    c.addHelpText("after", examples("rollway rollout abort backend-1 -n demo")),
  );
  verb("retry", "retry an aborted update", (c) => c.addHelpText("after", examples("rollway rollout retry backend-1")));
  verb("pause", "pause the rollout", (c) => c.addHelpText("after", examples("rollway rollout pause backend-1")));
  verb("resume", "resume a paused rollout", (c) =>
    c.addHelpText("after", examples("rollway rollout resume backend-1")),
  );
  verb("restart", "restart every pod of the workload", (c) =>
    c.addHelpText("after", examples("rollway rollout restart backend-1")),
  );
  verb("set-image", "set container images (container=image, *=image for all); the workload rolls out", (c) =>
    c
      .argument("<container=image...>", "the images")
      .addHelpText("after", examples("rollway rollout set-image backend-1 backend=my-registry/app:2")),
  );
  verb("undo", "roll back to an earlier revision (default: the previous one)", (c) =>
    c
      .addOption(new Option("--to-revision <n>", "the revision").argParser(positive))
      .addHelpText("after", examples("rollway rollout undo backend-1 --to-revision 1")),
  );

  on("history")
    ?.command("history")
    .description("the releases of an environment, newest first; or one release with its components")
    .argument("[release]", "one release to show")
    .addOption(envOption())
    .addHelpText(
      "after",
      examples("rollway history --env environment.yaml", "rollway history demo-20261127-112607-bef9 -n demo"),
    )
    .action(async (release: string | undefined, opts, command: Command) => {
      const globals = globalsOf(command);
      if (globals.server) {
        await (await remote()).remoteHistory(
          release,
          { ...globals, server: globals.server, ...opts },
          outputFor(command),
        );
        return;
      }
      const { historyCommand } = await import("./commands/history.js");
      await historyCommand(release, { ...globals, ...opts }, outputFor(command));
    });

  on("config")
    ?.command("config")
    .description("versioned service configuration (oConfig)")
    .command("diff")
    .description("each component's oConfig, current vs next (secret-looking keys redacted)")
    .argument("[component]", "only this component")
    .addOption(envOption())
    .addHelpText(
      "after",
      examples("rollway config diff --env environment.yaml", "rollway config diff backend-1 --json"),
    )
    .action(async (component: string | undefined, opts, command: Command) => {
      const { configDiffCommand } = await import("./commands/config-diff.js");
      await configDiffCommand(component, opts, outputFor(command));
    });

  on("doctor")
    ?.command("doctor")
    .description("is the cluster ready: CRDs and versions, RBAC, Services, preview Ingress, sc.production")
    .addOption(envOption())
    .addHelpText("after", examples("rollway doctor --env environment.yaml", "rollway doctor --context prod --json"))
    .action(async (opts, command: Command) => {
      const { doctorCommand } = await import("./commands/doctor.js");
      await doctorCommand({ ...globalsOf(command), ...opts }, outputFor(command));
    });

  on("sim")
    ?.command("sim")
    .description("start a simulated cluster with the demo environment and print its kubeconfig (Ctrl-C stops it)")
    .addOption(new Option("--port <port>", "port to listen on (default: a free one)").argParser(positive))
    .addOption(
      new Option("--ready-delay <ms>", "how long a simulated pod takes to become ready").default(500).argParser(Number),
    )
    .option("--detach", "start it in the background, print the shell lines that point at it (KUBECONFIG...) and exit")
    .option(
      "--crash <image>",
      "pods whose image contains this text crash on start (CrashLoopBackOff), to try a stuck release",
    )
    .addOption(
      new Option(
        "--progress-deadline <seconds>",
        "the workloads' progressDeadlineSeconds: when a stuck one turns Degraded",
      ).argParser(positive),
    )
    .addHelpText(
      "after",
      examples(
        "rollway sim",
        'eval "$(rollway sim --detach)"; rollway status; kill $ROLLWAY_SIM_PID',
        'eval "$(rollway sim --detach --json | jq -r \'"export KUBECONFIG="+.kubeconfig\')"',
      ),
    )
    .action(async (opts: SimCommandOptions, command: Command) => {
      const { simCommand } = await import("./commands/sim.js");
      await simCommand(opts, outputFor(command));
    });

  on("serve")
    ?.command("serve")
    .description("run the webhook server (configured by ROLLWAY_* variables, as the container image)")
    .option("--port <port>", "port (ROLLWAY_PORT)")
    .option("--host <host>", "address to bind (ROLLWAY_HOST)")
    .option("--sim", "run against kube-sim holding the demo environment, with tokens generated for the session")
    .addOption(
      new Option("--ready-delay <ms>", "with --sim: how long a simulated pod takes to become ready")
        .default(500)
        .argParser(Number),
    )
    .addHelpText(
      "after",
      examples(
        "rollway serve --port 8080 --kubeconfig ~/.kube/config",
        "ROLLWAY_CONFIG=server.yaml rollway serve",
        "rollway serve --sim --port 8080",
        "rollway serve --sim --port 0 --json   # one line: url, tokens, kubeconfig",
      ),
    )
    .action(async (opts: { port?: string; host?: string; sim?: boolean; readyDelay: number }, command: Command) => {
      const { serveCommand } = await import("./commands/serve.js");
      await serveCommand(
        { ...opts, ...(globalsOf(command).kubeconfig ? { kubeconfig: globalsOf(command).kubeconfig } : {}) },
        outputFor(command),
      );
    });

  on("snapshot")
    ?.command("snapshot")
    .description("save code as data to patch files, commit and push them (the snapshooter)")
    .requiredOption("--config <file>", "snapshooter configuration (JSON)")
    .requiredOption("--source <file|url>", "code-as-data export: a file or an http(s) URL")
    .option("--entry <name>", "only this entry")
    .option("--dry-run", "show what would change, write nothing")
    .option(
      "--max-removed <percent>",
      "refuse a run removing more than this share of the saved objects (a truncated export); 100 turns it off",
      "10",
    )
    .addHelpText(
      "after",
      `\nExit codes here: 0 ok, 1 failed, 2 bad configuration, 3 another snapshot holds the lock (skipped), 130 interrupted.${examples(
        "rollway snapshot --config snapshooter.json --source export.ndjson --dry-run",
      )}`,
    )
    .action(async (opts, command: Command) => {
      const { snapshotCommand } = await import("./commands/snapshot.js");
      await snapshotCommand(opts, outputFor(command));
    });

  on("build")
    ?.command("build")
    .description("build, tag and push the frontend, backend and code-as-data images; print the payload's images")
    .option("--dir <dir>", "project folder", ".")
    .option("--registry <registry>", "registry and namespace, e.g. registry.example.com/team")
    .option("--name <name>", "image name prefix (default: the folder's name)")
    .option("--no-push", "build only")
    .option("--tag <tag...>", "additional tags")
    .option("--build-env <file>", "also write the seed's build.env (FRONTEND_IMAGE=...) to this file")
    .addOption(
      new Option("--context <kind>", "what the engine gets with a project Dockerfile")
        .choices(["project", "small"])
        .default("project"),
    )
    // Node 20 reads --env-file itself, even after the script name: the old name cannot work, so it gets a clear no.
    .addOption(new Option("--env-file <file>").hideHelp())
    .addHelpText(
      "after",
      `\n--context project (default) sends the project folder filtered by .dockerignore, as docker build . does;\n--context small sends only the build folder and the Dockerfile's folder, for a big project.${examples(
        "rollway build --registry r.example.com/team > images.json",
        "DOCKER_HOST=unix:///run/podman/podman.sock rollway build --no-push",
        "rollway build --registry r.example.com/team --build-env build.env",
      )}`,
    )
    .action(async (opts, command: Command) => {
      if (opts.envFile !== undefined) {
        throw new CliError(
          "--env-file is now --build-env (Node reads --env-file itself and loads that file into the environment): use --build-env <file>",
          ExitCode.badInput,
        );
      }
      const { buildCommand } = await import("./commands/build.js");
      await buildCommand(opts, outputFor(command));
    });

  const promoteEnv = on("promote-env")
    ?.command("promote-env")
    .description("promote images from one kustomize overlay to another through git (pull request or push)")
    .option("--repo <dir>", "the GitOps repository", ".")
    .option("--from <env>", "overlay to take the images from")
    .option("--to <env>", "overlay to promote into")
    .option("--push", "push to the base branch instead of opening a pull request")
    .option("--force", "promote even without an approval of the source")
    .option("--dry-run", "show the change, write nothing")
    .option("--branch <name>", "name of the promotion branch")
    .option(
      "--pin-digest",
      "resolve each image's tag to its registry digest and write digest: (refuses images the registry lacks; logins from docker/podman login)",
    )
    .option(
      "--allowed-signers <file>",
      "approvers' SSH keys (git's allowed-signers format); default git's gpg.ssh.allowedSignersFile",
    )
    .option("--gpg-home <dir>", "approvers' GPG keyring, for GPG-signed approvals (GNUPGHOME)")
    .option(
      "--source-env <file>",
      "check first that --from is Healthy and serves the images promoted: its rollway environment file, read in the cluster of --kubeconfig/--context",
    )
    .option("--argocd-source-app <name>", "check first that this Argo CD application of --from is Synced and Healthy")
    .option("--skip-health-check", "promote without the --source-env / --argocd-source-app checks")
    .option("--wait", "after delivering, wait for the pull request's merge and --argocd-app's sync and health")
    .option("--argocd-app <name>", "with --wait: the Argo CD application of --to to wait for")
    .option("--wait-timeout <seconds>", "with --wait: give up after this long", "600")
    .addOption(
      new Option("--argocd-server <url>", "Argo CD's address (token from ARGOCD_AUTH_TOKEN)").env("ARGOCD_SERVER"),
    )
    .option("--github-repo <owner/name>", "GitHub repository for the pull request (default: from the remote's URL)")
    .addOption(
      new Option("--github-api-url <url>", "GitHub's REST API, e.g. https://github.example.com/api/v3").env(
        "GITHUB_API_URL",
      ),
    )
    .addHelpText(
      "after",
      `\nOnly a signed QA approval counts: git verify-tag checks it against the approvers' keys, and one signed by\nthe person promoting is refused.${examples(
        "rollway promote-env --from staging --to prod --allowed-signers .github/allowed_signers",
        "rollway promote-env approve --env staging",
        "rollway promote-env revert --to prod --push",
      )}`,
    )
    .action(async (opts, command: Command) => {
      if (!opts.from || !opts.to) {
        throw new CliError("promote-env needs --from and --to, e.g. --from staging --to prod", ExitCode.badInput);
      }
      const { promoteEnvCommand } = await import("./commands/promote-env.js");
      await promoteEnvCommand({ ...globalsOf(command), ...opts }, outputFor(command));
    });
  promoteEnv
    ?.command("approve")
    .description(
      "record an approval of an overlay's current state: a git tag signed with your key (git's gpg.format and user.signingkey)",
    )
    .requiredOption("--env <env>", "the overlay approved")
    .option("--repo <dir>", "the GitOps repository", ".")
    .option("--commit <sha>", "the commit approved (default: the base branch)")
    .option("--note <text>", "why")
    .action(async (opts, command: Command) => {
      const { promoteEnvApproveCommand } = await import("./commands/promote-env.js");
      // commander gives --repo to promote-env wherever it is written; take it from there.
      await promoteEnvApproveCommand({ ...opts, repo: (promoteEnv as Command).opts().repo }, outputFor(command));
    });
  promoteEnv
    ?.command("revert")
    .alias("rollback")
    .description("revert the last promotion into an overlay (or the one in --commit)")
    .option("--to <env>", "the overlay")
    .option("--repo <dir>", "the GitOps repository", ".")
    .option("--commit <sha>", "the promotion commit to revert")
    .option("--push", "push instead of opening a pull request")
    .action(async (opts, command: Command) => {
      // commander gives --repo, --to and --push to promote-env wherever they are written; take them from there.
      const parent = (promoteEnv as Command).opts();
      const merged = { ...opts, repo: parent.repo, to: opts.to ?? parent.to, push: opts.push ?? parent.push };
      if (!merged.to) throw new CliError("promote-env revert needs --to, e.g. --to prod", ExitCode.badInput);
      const { promoteEnvRevertCommand } = await import("./commands/promote-env.js");
      await promoteEnvRevertCommand(merged, outputFor(command));
    });

  on("completion")
    ?.command("completion")
    .description("print a shell completion script")
    .argument("<shell>", "bash, zsh or fish")
    .addHelpText(
      "after",
      examples(
        "rollway completion bash >> ~/.bashrc",
        "rollway completion fish > ~/.config/fish/completions/rollway.fish",
      ),
    )
    .action(async (shell: string, _opts, command: Command) => {
      const { completionCommand } = await import("./commands/completion.js");
      completionCommand(shell, program, outputFor(command));
    });

  // A word that names no command (a typo, an option's value): every command, for commander's suggestion.
  if (only !== undefined && !program.commands.some((c) => c.name() === only))
    return buildProgram({ ...(options.json ? { json: true } : {}) });
  return program;
}

export async function run(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const program = buildProgram({ json, argv });
  try {
    await program.parseAsync(argv, { from: "user" });
    return ExitCode.ok;
  } catch (error) {
    const commanderCode = (error as { code?: string }).code;
    if (commanderCode?.startsWith("commander.")) {
      if (commanderCode === "commander.helpDisplayed" || commanderCode === "commander.version") return ExitCode.ok;
      // commander has printed the usage error, unless --json asked for it as JSON.
      if (!json) return ExitCode.badInput;
      const message = (error as Error).message.replace(/^error: /, "");
      return reportError(
        { ...stdio, json },
        new CliError(`${message}; see rollway --help`, ExitCode.badInput, { code: "USAGE", cause: error }),
      );
    }
    return reportError({ ...stdio, json }, error);
  }
}

// A reader that stopped reading (`rollway status --watch --json | head -1`) ends the command quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = await run(process.argv.slice(2));
