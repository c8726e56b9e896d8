#!/usr/bin/env bash
# Quick start, main job: install what is missing, build, and start the dashboard
# server with its embedded defaults (bundled models, the shipped PC1 predictor, an
# SQLite cache). Open http://127.0.0.1:8080/ . Extra arguments go to `irene serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh --target irene
args=(--host 127.0.0.1 --port "${IRENE_PORT:-8080}")
# The public IrEne measurements, when present beside the repo, show beside predictions.
[ -d ../shared/data/irene/device_1 ] && args+=(--data ../shared/data/irene/device_1)
# ML.ENERGY's measured serving (v2 and v3), when present, shows beside serving predictions.
[ -f ../shared/data/mlenergy/vllm_v2_measurements.csv ] && args+=(--serving-data ../shared/data/mlenergy)
[ -f ../shared/data/mlenergy-v3/vllm_v3_h100_measurements.csv ] && args+=(--serving-data ../shared/data/mlenergy-v3)
exec build/irene serve "${args[@]}" "$@"
