#!/usr/bin/env bash
# Quick start, tests: install what is missing, build everything, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
rm -f build/latency-crossval.txt  # written again by the CPU latency test
# ctest starts the test PostgreSQL and Slurm cluster before the tests that need them and
# stops them after (fixtures); should ctest itself be stopped, they are stopped here.
cluster=$(sed -n 's/^IRENE_TEST_CLUSTER:INTERNAL=//p' build/CMakeCache.txt)
if [ -n "$cluster" ]; then
  trap 'scripts/cluster/slurm.sh stop "$cluster/slurm" >/dev/null 2>&1 || true
        scripts/cluster/postgres.sh stop "$cluster/postgres" >/dev/null 2>&1 || true' EXIT
fi
ctest --test-dir build --output-on-failure "$@"
# What the CPU latency test measured on this machine in this run (its targets: nodes
# within 15 %, model within 10 %, leave one model out).
if [ -f build/latency-crossval.txt ]; then
  echo "CPU latency, this machine, this run:"
  cat build/latency-crossval.txt
fi
# The config fuzzer, a clang build of its own, run for a bounded time (fuzz/CMakeLists.txt).
scripts/build-fuzz.sh
ctest --test-dir build-fuzz --output-on-failure
