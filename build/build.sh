#!/usr/bin/env bash
# Builds the one-folder OpenChat app with PyInstaller, setting up what it needs first.
# Result: build/dist/OpenChat/ (run build/dist/OpenChat/OpenChat). Work files go to build/work/.
# Usage: build/build.sh [output folder]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --build
dist="${1:-build/dist}"
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
  --workpath build/work --distpath "$dist" openchat.spec
app="$dist/OpenChat"
echo "Built $app ($(du -sh "$app" | cut -f1)); start it with $app/OpenChat"
