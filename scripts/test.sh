#!/usr/bin/env bash
# Quick start, tests: install what is missing, build everything, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure "$@"
