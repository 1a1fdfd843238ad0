/**
 * Throwaway GPG keys for tests, made with the real gpg in temporary GNUPGHOMEs (no passphrase): QA's and the
 * developer's, each in its own home as on their own machines, and a keyring holding both public keys as a team
 * configures for checking approvals. Each home's gpg-agent is stopped and every home removed when the file ends.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

export interface GpgKey {
  /** The GNUPGHOME holding the secret key. */
  home: string;
  fingerprint: string;
}

export interface GpgKeys {
  qa: GpgKey;
  developer: GpgKey;
  /** Someone whose key the team's keyring does not hold, though they call themselves QA. */
  stranger: GpgKey;
  /** A GNUPGHOME with QA's and the developer's public keys only: what approvals are checked against. */
  keyring: string;
}

const homes: string[] = [];
let made: GpgKeys | undefined;

function gpg(home: string, args: string[], input?: string): string {
  return execFileSync("gpg", ["--batch", "--quiet", ...args], {
    env: { ...process.env, GNUPGHOME: home },
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    ...(input === undefined ? {} : { input }),
  });
}

function newHome(): string {
  // Short paths under /tmp: gpg-agent's socket path must stay under the 108-byte limit.
  const home = mkdtempSync(join(tmpdir(), "rw-gpg-"));
  homes.push(home);
  return home;
}

function makeKey(uid: string): GpgKey {
  const home = newHome();
  gpg(home, ["--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"]);
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(home, ["--with-colons", "--list-secret-keys"]))?.[1];
  if (!fpr) throw new Error(`gpg made no key for ${uid}`);
  return { home, fingerprint: fpr };
}

export function gpgKeys(): GpgKeys {
  if (made) return made;
  const qa = makeKey("Quinn Assurance <qa@example.com>");
  const developer = makeKey("Dev Eloper <dev@example.com>");
  const stranger = makeKey("Quinn Assurance <qa@example.com>");
  const keyring = newHome();
  for (const key of [qa, developer]) {
    gpg(keyring, ["--import"], gpg(key.home, ["--armor", "--export", key.fingerprint]));
  }
  made = { qa, developer, stranger, keyring };
  return made;
}

/** `git tag -s` signing with `key` through gpg (git's default `gpg.format=openpgp`), without touching git config. */
export function gpgSignedTag(key: GpgKey): { args: string[]; env: Record<string, string> } {
  return {
    args: ["-c", "gpg.format=openpgp", "-c", `user.signingkey=${key.fingerprint}`],
    env: { GNUPGHOME: key.home },
  };
}

afterAll(() => {
  for (const home of homes) {
    try {
      execFileSync("gpgconf", ["--kill", "all"], { env: { ...process.env, GNUPGHOME: home }, stdio: "ignore" });
    } catch {
      // No agent was started for this home.
    }
    rmSync(home, { recursive: true, force: true });
  }
  homes.length = 0;
  made = undefined;
});
