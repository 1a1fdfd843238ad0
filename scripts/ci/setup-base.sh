#!/usr/bin/env bash
# git and kubectl for the tests. kubectl v1.32 is usually preinstalled; Debian's kubernetes-client is the fallback.
set -euo pipefail
missing=()
command -v git >/dev/null || missing+=(git)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
git --version
kubectl version --client 2>/dev/null | head -1 || true
