#!/usr/bin/env bash
# Debian's chromium: @rollway/webhook-server's dashboard tests drive it with playwright-core (executablePath
# /usr/bin/chromium, headless). Quick when already there.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
fi
/usr/bin/chromium --version 2>/dev/null || true
