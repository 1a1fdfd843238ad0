#!/usr/bin/env bash
# podman (its Docker-compatible API is what @rollway/image-builder's tests build through) and Debian's
# docker-registry (the registry they push to). Quick when already there. The tests start both themselves, on loopback.
set -euo pipefail
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v docker-registry >/dev/null || missing+=(docker-registry)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
podman --version
docker-registry --version 2>/dev/null || true
