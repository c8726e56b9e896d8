#!/usr/bin/env bash
# Installs everything irene's build, server and tests need: Debian packages with
# apt-get, the dashboard's npm packages with `npm ci`. Safe to run twice: it only
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev            # models, tracing, training
  libopenblas0-openmp     # a fast BLAS for libtorch (the default reference BLAS is ~50x slower)
  nlohmann-json3-dev      # config.json, tree JSON
  libcli11-dev            # command line
  libspdlog-dev           # logging
  libcpp-httplib-dev      # HTTP server
  libsqlite3-dev          # the store's embedded backend (cache, profile jobs, campaigns)
  libpqxx-dev             # the store's PostgreSQL backend (libpq through libpqxx)
  libyaml-cpp-dev         # campaign files in YAML
  postgresql              # a throwaway PostgreSQL server for the store's and campaigns' tests
  slurm-wlm munge         # a one-node Slurm cluster (slurmctld, slurmd, the client commands) for the campaigns' tests
  zlib1g-dev              # gzip of the API's answers
  libgtest-dev libgmock-dev  # tests
  libbenchmark-dev        # bench/
  clang libclang-rt-14-dev  # the config fuzzer (libFuzzer + AddressSanitizer, fuzz/)
  chromium                # the dashboard's browser tests (driven by playwright-core)
  curl wrk                # server checks and its load benchmark
)
# Node.js and npm for the dashboard's packages, unless the machine already has them.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  # Daemons the packages would start (PostgreSQL's default cluster, munged, slurmctld,
  # slurmd) are not wanted: the tests start their own, in folders of their own. On a
  # machine without a policy, one that denies starts is in place for the install only.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod 755 "$policy"
    trap '"${sudo_cmd[@]}" rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# The dashboard's d3, bootstrap and playwright-core, pinned by web/package-lock.json.
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  echo "setup: npm ci in web/"
  (cd web && npm ci --no-audit --no-fund)
fi
