#!/usr/bin/env bash
# Build the offline base image from Debian packages: debootstrap (minbase) + python3 + venv +
# numactl, plus g++ and the Python headers (torch.compile/Inductor, on the torch int8 path, compiles
# C++), then `docker import`. For machines that cannot pull the official python image (air-gapped,
# or no registry reachable); needs root, debootstrap and a Debian mirror (or a proxy to one).
#
#   containers/bootstrap-base.sh [--suite bookworm] [--tag compressor/base:bookworm]
#                                [--mirror URL] [--substitutes python:3.11-slim-bookworm] [--force]
#
# `harness containers bootstrap-base` runs this script. The image is labelled
# org.compressor.base.substitutes=<the official image it stands in for>; `harness containers build`
# uses it whenever that official image is not present locally.
set -euo pipefail

suite=bookworm
tag=""
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
substitutes=""
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) suite="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --mirror) mirror="$2"; shift 2 ;;
    --substitutes) substitutes="$2"; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bootstrap-base: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
# The Debian release's own python3 decides which official image this one replaces.
case "$suite" in
  bookworm) python_version=3.11 ;;
  bullseye) python_version=3.9 ;;
  trixie) python_version=3.13 ;;
  *) echo "bootstrap-base: unknown suite $suite; known: bookworm bullseye trixie" >&2; exit 2 ;;
esac
tag="${tag:-compressor/base:$suite}"
substitutes="${substitutes:-python:${python_version}-slim-$suite}"

if [ "$force" -eq 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "bootstrap-base: $tag exists ($(docker image inspect --format '{{.Id}}' "$tag")); --force rebuilds it"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap-base: debootstrap needs root" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "bootstrap-base: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
fi

rootfs="$(mktemp -d "${TMPDIR:-/var/tmp}/compressor-base-XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT
start=$SECONDS
echo "bootstrap-base: debootstrap $suite (minbase) from $mirror into $rootfs"
debootstrap --variant=minbase --include=python3,python3-venv,python3-dev,g++,numactl,ca-certificates \
  "$suite" "$rootfs" "$mirror"
# Smaller image, nothing host-specific left behind.
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
printf 'nameserver 127.0.0.1\n' >"$rootfs/etc/resolv.conf"  # docker replaces it in every container
echo "bootstrap-base: debootstrap took $((SECONDS - start)) s; importing as $tag"

tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  --change "LABEL org.compressor.base.substitutes=$substitutes" \
  --change "LABEL org.compressor.base.suite=$suite" \
  --change "LABEL org.compressor.base.mirror=$mirror" \
  - "$tag"
echo "bootstrap-base: $tag ready in $((SECONDS - start)) s ($(docker image inspect --format '{{.Size}}' "$tag") bytes; stands in for $substitutes)"
