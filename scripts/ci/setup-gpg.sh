#!/usr/bin/env bash
# GnuPG (gpg, gpgconf, gpg-agent): @rollway/env-promotion's tests sign QA approval tags with throwaway GPG keys made in
# temporary GNUPGHOMEs and check them against a keyring, as git verify-tag does. Quick when already there.
set -euo pipefail
if ! command -v gpg >/dev/null || ! command -v gpgconf >/dev/null || ! command -v gpg-agent >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnupg gpg-agent
fi
gpg --version | head -1
