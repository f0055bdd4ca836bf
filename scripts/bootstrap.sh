#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 / Python 3.11 machine for SSR engine.
#   - Debian's libllvm19 (Mitsuba's CPU backend), when running as root and it is missing
#   - a virtual environment in .venv
#   - torch==2.13.0 FIRST (a CPU build is cached on these machines; an unpinned torch
#     would drag in GBs of CUDA wheels), then the package (editable, with the C++ extension)
# Re-runs only what changed (a stamp of pyproject.toml, CMakeLists.txt and the C++ sources).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SSR_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

if [ ! -e /usr/lib/x86_64-linux-gnu/libLLVM-19.so ] && [ ! -e /usr/lib/x86_64-linux-gnu/libLLVM.so.19.1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[bootstrap] installing Debian libllvm19 (Mitsuba llvm_ad_rgb backend)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libllvm19 >/dev/null
  else
    echo "[bootstrap] warning: libLLVM 19 not found; rendering needs 'apt-get install libllvm19'" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[bootstrap] creating $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
# The editable install maps package folders at install time: re-install when the build
# files, the C++ sources, or the set of Python files change.
stamp_now="$( (cat "$ROOT/pyproject.toml" "$ROOT/CMakeLists.txt" "$ROOT"/runtime/native/* "$ROOT"/runtime/include/*; \
  cd "$ROOT" && find ssr data_tools runtime export bench -name '*.py' -o -name '*.json' | sort) 2>/dev/null | sha256sum | cut -c1-16)"
stamp_file="$VENV/.ssr-install-stamp"
if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp_now" ] || ! "$VPY" -c "import ssr._native" 2>/dev/null; then
  echo "[bootstrap] installing torch==2.13.0, then ssr-engine (editable)"
  "$VPY" -m pip install -q --upgrade pip
  "$VPY" -m pip install -q "torch==2.13.0"
  "$VPY" -m pip install -q "scikit-build-core>=0.11" "nanobind>=2.4"
  "$VPY" -m pip install -q --no-build-isolation -e "$ROOT[model,render,export,dev,bench]"
  echo "$stamp_now" > "$stamp_file"
fi
