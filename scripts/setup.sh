#!/usr/bin/env bash
# Installs every Debian package irene's build and tests need. Safe to run twice:
# it only calls apt-get when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev            # models, tracing, training
  libopenblas0-openmp     # a fast BLAS for libtorch (the default reference BLAS is ~50x slower)
  nlohmann-json3-dev      # config.json, tree JSON
  libcli11-dev            # command line
  libspdlog-dev           # logging
  libcpp-httplib-dev      # HTTP server
  libsqlite3-dev          # persistent cache
  libgtest-dev libgmock-dev  # tests
  libbenchmark-dev        # bench/
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
