#!/usr/bin/env bash
# Prepares a machine to run OpenChat from this folder: Python 3.11+ with venv (from Debian's
# packages when missing), then .venv with OpenChat and its dependencies. Safe to run again.
# Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."

extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

python_ok() {
  command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}
if ! python_ok; then
  if command -v apt-get >/dev/null 2>&1; then
    apt_install python3 python3-venv python3-pip
  fi
  python_ok || { echo "OpenChat needs Python 3.11 or newer with venv." >&2; exit 1; }
fi

if [ -n "$extra" ] && [ ! -x /usr/bin/chromium ]; then
  # The page tests drive Debian's Chromium headless.
  apt_install chromium fonts-dejavu-core
fi

stamp=".venv/.installed${extra}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "Installing OpenChat and its Python packages into .venv …"
  log=.venv/install.log
  if ! { .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip &&
         .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}"; } \
       >"$log" 2>&1; then
    cat "$log" >&2
    echo "Installing the Python packages failed (see above)." >&2
    exit 1
  fi
  touch "$stamp"
fi
