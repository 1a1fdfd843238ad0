#!/usr/bin/env bash
# tmux: @rollway/cli's terminal tests run the binary in a real terminal of 80 and 200 columns (terminal.test.ts,
# get.test.ts) and read the screen back. Quick when already there.
set -euo pipefail
if ! command -v tmux >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tmux
fi
tmux -V
