#!/usr/bin/env bash
# Prepares a machine to run OpenChat from this folder: Python 3.11+ with venv (from Debian's
# packages when missing), then .venv with OpenChat and its dependencies, then the starter model
# (scripts/fetch_starter_model.py). Safe to run again.
# Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."

extra=""
case "${1:-}" in
  --dev) extra="[dev]" ;;      # tests: also pytest, ruff, playwright, PyInstaller, Xvfb, Chromium
  --build) extra="[build]" ;;  # packaging: also PyInstaller
esac

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

if [ "$extra" = "[dev]" ] && [ ! -x /usr/bin/chromium ]; then
  # The page tests drive Debian's Chromium headless.
  apt_install chromium fonts-dejavu-core
fi
if [ "$extra" = "[dev]" ] && command -v apt-get >/dev/null 2>&1; then
  # The window tests run the real window on a virtual display and type into its dialogs.
  apt_install xvfb xauth xdotool
fi
if [ "$(uname -s)" = "Linux" ] && command -v apt-get >/dev/null 2>&1; then
  # The window's toolkit (Qt, from PyPI) needs these system libraries; the list lives in
  # openchat_desktop/desktop/system_libs.py. Without them OpenChat opens in the browser.
  mapfile -t qt_packages < <(python3 openchat_desktop/desktop/system_libs.py)
  if [ "${#qt_packages[@]}" -gt 0 ]; then
    apt_install "${qt_packages[@]}" ||
      echo "Could not install ${qt_packages[*]}; OpenChat will open in the browser instead." >&2
  fi
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

# The starter model (a tiny model that answers with no network), once, into bundled-models/.
if ! .venv/bin/python scripts/fetch_starter_model.py; then
  echo "Continuing without the starter model." >&2
fi
