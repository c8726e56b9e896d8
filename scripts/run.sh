#!/usr/bin/env bash
# Quick start, main job: install what is missing, build, and show a model's tree.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh --target irene
exec build/irene tree --model "${IRENE_MODEL:-bert-base-uncased}" --batch-size 8 --seq-len 128 --format text "$@"
