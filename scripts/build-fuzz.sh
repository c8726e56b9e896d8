#!/usr/bin/env bash
# Configures (once) and builds the config fuzzer into build-fuzz/ with clang (libFuzzer,
# AddressSanitizer). Longer runs than the test suite's:
#   build-fuzz/fuzz/config_fuzzer -detect_leaks=0 -max_total_time=3600 build-fuzz/fuzz/corpus src/models/configs
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DIRENE_FUZZ=ON
fi
cmake --build build-fuzz "$@"
