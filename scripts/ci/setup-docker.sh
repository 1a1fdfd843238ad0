#!/usr/bin/env bash
# Debian's Docker Engine (docker.io): @rollway/image-builder's tests build through dockerd as well as podman, so the
# built-in Dockerfiles are proven on the classic builder too. Only the package is installed here; the tests start
# `dockerd --storage-driver=vfs` themselves on a private socket (as they start podman's service), so no system
# daemon is needed or started. Quick when already there.
set -euo pipefail
if ! command -v dockerd >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io
fi
dockerd --version
