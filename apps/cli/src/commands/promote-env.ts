/** `rollway promote-env`: promote images from one overlay to another through git (seed 003), approve, revert. */
import { CliError, ExitCode, type Output, printJson } from "../output.js";

export interface PromoteEnvOptions {
  repo: string;
  from: string;
  to: string;
  push?: boolean;
  force?: boolean;
  dryRun?: boolean;
  branch?: string;
  /** SSH approvals: the approvers' allowed-signers file (else git's gpg.ssh.allowedSignersFile). */
  allowedSigners?: string;
  /** GPG approvals: the keyring folder (GNUPGHOME). */
  gpgHome?: string;
}

const github = () => (process.env.GITHUB_TOKEN ? { github: { token: process.env.GITHUB_TOKEN } } : {});

export async function promoteEnvCommand(options: PromoteEnvOptions, output: Output): Promise<void> {
  const { formatPromotion, promoteEnvironment } = await import("@rollway/env-promotion");
  const result = await promoteEnvironment({
    repo: options.repo,
    from: options.from,
    to: options.to,
    delivery: options.push ? "push" : "pull-request",
    force: Boolean(options.force),
    dryRun: Boolean(options.dryRun),
    ...(options.branch ? { branch: options.branch } : {}),
    trust: {
      ...(options.allowedSigners ? { allowedSignersFile: options.allowedSigners } : {}),
      ...(options.gpgHome ? { gpgHome: options.gpgHome } : {}),
    },
    ...github(),
  });
  if (output.json) printJson(output, { ok: !result.wouldRefuse, ...result });
  else output.out(`${formatPromotion(result)}\n`);
  // The change is shown; the exit code still tells a script the real run would be refused.
  if (result.wouldRefuse) {
    throw new CliError(
      `dry run: the promotion would be refused [${result.wouldRefuse.code}]; see above`,
      ExitCode.failed,
    );
  }
}

export async function promoteEnvApproveCommand(
  options: { repo: string; env: string; commit?: string; note?: string },
  output: Output,
): Promise<void> {
  const { formatApproval, recordApproval } = await import("@rollway/env-promotion");
  const approval = await recordApproval({
    repo: options.repo,
    env: options.env,
    ...(options.commit ? { commit: options.commit } : {}),
    ...(options.note ? { note: options.note } : {}),
  });
  if (output.json) printJson(output, { ok: true, ...approval });
  else output.out(`${formatApproval(approval)}\n`);
}

export async function promoteEnvRevertCommand(
  options: { repo: string; to: string; commit?: string; push?: boolean },
  output: Output,
): Promise<void> {
  const { formatPromotion, revertPromotion } = await import("@rollway/env-promotion");
  const result = await revertPromotion({
    repo: options.repo,
    to: options.to,
    delivery: options.push ? "push" : "pull-request",
    ...(options.commit ? { commit: options.commit } : {}),
    ...github(),
  });
  if (output.json) printJson(output, { ok: true, ...result });
  else output.out(`${formatPromotion(result)}\n`);
}
