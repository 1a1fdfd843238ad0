#!/usr/bin/env bash
# git, kubectl and the official Python client for the tests. kubectl v1.32 is usually preinstalled; Debian's
# kubernetes-client is the fallback. The Python client is Debian's python3-kubernetes, for the system interpreter
# (/usr/bin/python3: kube-sim's python-watch tests run it, whatever other python3 is first on PATH).
set -euo pipefail
missing=()
command -v git >/dev/null || missing+=(git)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
/usr/bin/python3 -c "import kubernetes" 2>/dev/null || missing+=(python3-kubernetes)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
git --version
kubectl version --client 2>/dev/null | head -1 || true
/usr/bin/python3 -c "import kubernetes; print('python3-kubernetes', kubernetes.__version__)" 2>/dev/null || true
