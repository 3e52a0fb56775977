# Shared by up, down and status: where the dev cluster keeps its state, and small helpers.
# shellcheck shell=bash

DEV_STATE=/var/lib/hpcbridge-dev-cluster      # marker, database password, pids of what `up` started
DEV_RUN=/run/hpcbridge-dev-cluster            # pid files the daemons write
DEV_CLUSTER_NAME=${HPCBRIDGE_DEV_CLUSTER_NAME:-dev}
DEV_ACCOUNTS=(cancer_genomics_lab systems_biology_lab)
DEV_MARKER="# Written by hpcbridge contrib/dev-cluster/up"
DAEMONS=(mariadb munged slurmdbd slurmctld slurmd)

say() { printf 'dev-cluster: %s\n' "$*"; }
die() { printf 'dev-cluster: %s\n' "$*" >&2; exit 1; }

# The pid `up` recorded for a daemon, if that process is still alive.
live_pid() {
  local file="$DEV_STATE/$1.pid" pid
  [ -r "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

started_by_us() {
  [ -f /etc/slurm/slurm.conf ] && grep -qF "$DEV_MARKER" /etc/slurm/slurm.conf
}

# Waits up to $2 seconds for command $1 (a string run by bash) to succeed.
wait_for() {
  local check="$1" seconds="$2" i
  for ((i = 0; i < seconds * 4; i++)); do
    if bash -c "$check" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  return 1
}

# Stops a daemon `up` started (TERM, then KILL after 30 s) and forgets its pid; true if it ran.
stop_daemon() {
  local daemon="$1" pid ran=1
  if pid=$(live_pid "$daemon"); then
    say "stopping $daemon (pid $pid)"
    kill -TERM "$pid"
    wait_for "! kill -0 $pid" 30 || { say "$daemon did not stop; sending KILL"; kill -KILL "$pid" 2>/dev/null || true; }
    ran=0
  fi
  rm -f "$DEV_STATE/$daemon.pid"
  return $ran
}
