#!/usr/bin/env bash
# Runs the whole test suite (lint, types, then pytest), setting up what it needs first.
# Arguments go to pytest (e.g. `scripts/test.sh -k settings`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
.venv/bin/ruff check openchat_desktop tests bench
.venv/bin/mypy
exec .venv/bin/pytest "$@"
