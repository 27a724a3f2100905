#!/usr/bin/env bash
# Make sure a Docker daemon answers: install the engine from Debian packages if it is missing,
# start dockerd if no daemon answers, and wait until it does (used by .ci/run and by users).
#
#   containers/ensure-docker.sh            # idempotent; prints where the daemon log is
#   DOCKERD_ARGS="--storage-driver=vfs" containers/ensure-docker.sh
#   ENSURE_DOCKER_TIMEOUT=120 containers/ensure-docker.sh
#
# Needs root for the install and to start dockerd; without root it only checks.
set -euo pipefail

timeout_s="${ENSURE_DOCKER_TIMEOUT:-90}"
log_file="${DOCKERD_LOG:-/var/log/dockerd.log}"

answers() { docker info >/dev/null 2>&1; }

if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-docker: the Docker engine is not installed; as root: apt-get install docker.io" >&2
    exit 1
  fi
  echo "ensure-docker: installing the Docker engine (Debian package docker.io)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # iptables: dockerd's default networking needs it; the engine's recommends are not needed.
  apt-get install -y -q --no-install-recommends docker.io iptables
fi

if answers; then
  echo "ensure-docker: a Docker daemon answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-docker: no Docker daemon answers and starting one needs root (or ask your admin)" >&2
  exit 1
fi

echo "ensure-docker: starting dockerd ${DOCKERD_ARGS:-} (log: $log_file)"
# setsid: the daemon outlives this script and the CI step that ran it.
# shellcheck disable=SC2086
setsid nohup dockerd ${DOCKERD_ARGS:-} >>"$log_file" 2>&1 </dev/null &
pid=$!
deadline=$((SECONDS + timeout_s))
until answers; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "ensure-docker: dockerd exited; last lines of $log_file:" >&2
    tail -n 20 "$log_file" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "ensure-docker: dockerd did not answer within ${timeout_s}s; see $log_file" >&2
    exit 1
  fi
  sleep 1
done
echo "ensure-docker: dockerd answers ($(docker version --format '{{.Server.Version}}'), pid $pid)"
