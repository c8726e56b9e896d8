#!/usr/bin/env bash
# A real one-node Slurm cluster for tests: munged, slurmctld and slurmd started as plain
# daemons (no systemd) from the repo's slurm.conf, everything they write in DIR.
#
#   scripts/cluster/slurm.sh start DIR   # prints SLURM_CONF=DIR/slurm.conf: export it for sbatch, squeue, ...
#   scripts/cluster/slurm.sh stop DIR    # stops the daemons (and any job left) and removes DIR
# slurmd must run as root (it starts jobs as their owners); so must this script.
set -euo pipefail
cmd=${1:?usage: slurm.sh start|stop DIR}
dir=${2:?usage: slurm.sh start|stop DIR}
here=$(cd "$(dirname "$0")" && pwd)

# A TCP port nothing listens on, from a range away from the usual services.
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "slurm.sh: no free port found" >&2
  return 1
}

stop_pidfile() {
  local file=$1
  [ -f "$file" ] || return 0
  local pid
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

case "$cmd" in
  start)
    [ "$(id -u)" -eq 0 ] || { echo "slurm.sh: slurmd must run as root" >&2; exit 1; }
    for d in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd; do
      [ -x "$d" ] || { echo "slurm.sh: $d missing (apt-get install munge slurmctld slurmd slurm-client)" >&2; exit 1; }
    done
    # What a run killed before its cleanup left behind goes first.
    [ -d "$dir" ] && "$0" stop "$dir"
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
    chmod 0755 "$dir"
    chmod 0700 "$dir/munge"
    # A fresh key for this cluster only; munge wants it readable by its owner alone.
    head -c 1024 /dev/urandom >"$dir/munge/munge.key"
    chmod 0400 "$dir/munge/munge.key"
    /usr/sbin/munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
      --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
    memory_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    sed -e "s|@DIR@|$dir|g" -e "s|@CTLD_PORT@|$(free_port)|g" -e "s|@SLURMD_PORT@|$(free_port)|g" \
      -e "s|@CPUS@|$(nproc)|g" -e "s|@MEMORY_MB@|$memory_mb|g" -e "s|@USER@|$(id -un)|g" \
      "$here/slurm.conf" >"$dir/slurm.conf"
    export SLURM_CONF="$dir/slurm.conf"
    /usr/sbin/slurmctld -f "$SLURM_CONF"
    /usr/sbin/slurmd -f "$SLURM_CONF" -N localhost
    # Ready once the node takes jobs.
    for _ in $(seq 300); do
      state=$(sinfo -h -n localhost -o %t 2>/dev/null || true)
      case "$state" in idle* | mix* | alloc*) echo "SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
      sleep 0.2
    done
    echo "slurm.sh: the node did not come up (state '${state:-none}'); logs:" >&2
    tail -n 20 "$dir"/slurmctld.log "$dir"/slurmd.log "$dir"/munge/munged.log >&2 || true
    exit 1
    ;;
  stop)
    if [ -f "$dir/slurm.conf" ]; then
      SLURM_CONF="$dir/slurm.conf" scancel --full --quiet -u "$(id -un)" 2>/dev/null || true
    fi
    stop_pidfile "$dir/slurmd.pid"
    stop_pidfile "$dir/slurmctld.pid"
    stop_pidfile "$dir/munge/munged.pid"
    rm -rf "$dir"
    ;;
  *) echo "slurm.sh: unknown command '$cmd' (start, stop)" >&2; exit 2 ;;
esac
