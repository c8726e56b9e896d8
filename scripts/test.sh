#!/usr/bin/env bash
# Quick start, tests: install what is missing, build everything, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure "$@"
# The config fuzzer, a clang build of its own, run for a bounded time (fuzz/CMakeLists.txt).
scripts/build-fuzz.sh
ctest --test-dir build-fuzz --output-on-failure
