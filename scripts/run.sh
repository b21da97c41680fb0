#!/usr/bin/env bash
# Launches OpenChat, setting up what it needs first. Arguments go to `openchat`
# (e.g. `scripts/run.sh serve`, `scripts/run.sh --browser`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/openchat "$@"
