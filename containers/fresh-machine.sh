#!/usr/bin/env bash
# Run the README's two set-up commands on a fresh machine: a new container from the offline base image
# (Debian bookworm minbase + python3, `harness containers bootstrap-base`), nothing of the project
# installed, only `pip install tox`; then `tox -e bench-cpu` and `tox`, timed, in a clean clone of HEAD.
#
#   containers/fresh-machine.sh [--out DIR] [--image compressor/base:bookworm] [--only bench-cpu|tests]
#
# The container shares the host's network (pip and apt reach PyPI and Debian's archive the way the host
# does) and sees this machine's pip configuration read-only (pip.conf files, PIP_* variables, the
# find-links and file:// index folders, constraints, CA bundle): the package sources every machine of
# this kind has. Nothing else of the host is visible; the zoo cache, the Debian data and numactl start
# absent (the base image has no numactl data packages; `harness setup` installs them).
# Writes DIR/fresh-machine.json ({"bench_cpu": {"rc", "seconds"}, "tests": {...}}), DIR/*.log and the
# clone's reports/latest as DIR/report/. Exit status: 0 when every command run passed.
set -euo pipefail

out="$(pwd)/results/fresh-machine"
image="compressor/base:bookworm"
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --image) image="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "fresh-machine: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$only" in ""|bench-cpu|tests) ;; *) echo "fresh-machine: --only is bench-cpu or tests, not $only" >&2; exit 2 ;; esac
repo="$(cd "$(dirname "$0")/.." && pwd)"
if ! docker image inspect "$image" >/dev/null 2>&1; then
  echo "fresh-machine: image $image is missing; run \`harness containers bootstrap-base\` first" >&2
  exit 2
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d /tmp/fresh-machine.XXXXXX)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/src"
git -C "$work/src" log -1 --format='fresh-machine: testing %h %s'

# This machine's package sources, read-only at the same paths.
mounts=()
declare -A mounted=()
add_mount() {  # once per path (docker refuses a duplicate mount point); nested paths are covered already
  local path parent
  path="$(realpath -m "$1")"
  [ -e "$path" ] || return 0
  for parent in "${!mounted[@]}"; do
    case "$path/" in "$parent"/*) return 0 ;; esac
  done
  mounted["$path"]=1
  mounts+=(-v "$path:$path:ro")
}
for f in /etc/pip.conf /etc/xdg/pip /root/.config/pip /root/.pip /etc/ssl/certs /usr/share/ca-certificates; do
  add_mount "$f"
done
while read -r value; do
  for item in $value; do
    item="${item#file://}"
    case "$item" in /*) add_mount "${item%/simple}" ;; esac
  done
done < <(python3 -m pip config list 2>/dev/null | sed -n "s/^[^=]*\(find-links\|index-url\|constraint\)='\(.*\)'$/\2/p")
envs=()
while IFS='=' read -r name _; do envs+=(-e "$name"); done < <(env | grep -E '^(PIP_|SSL_CERT_|REQUESTS_CA_BUNDLE)' || true)

run_step() {  # name, command inside the container
  local name="$1" command="$2" start rc
  start=$(date +%s)
  set +e
  docker run --rm --network host "${mounts[@]}" "${envs[@]}" -e CI -e DEBIAN_FRONTEND=noninteractive \
    -v "$work/src:/src" -v "$work/home:/root" -w /src --name "fresh-machine-$name-$$" "$image" \
    bash -lc "$command" > "$out/$name.log" 2>&1
  rc=$?
  set -e
  echo "\"$name\": {\"rc\": $rc, \"seconds\": $(( $(date +%s) - start ))}"
}

# One container per command, the same clone and home: the second command finds what the first installed
# in the project (.tox, the zoo cache under /root/.cache) as a user's machine would, nothing from the host.
mkdir -p "$work/home"
setup='python3 -m venv /root/tox-venv && /root/tox-venv/bin/pip install -q "tox>=4.11" && export PATH=/root/tox-venv/bin:$PATH'
results=()
if [ "$only" != tests ]; then results+=("$(run_step bench_cpu "$setup && tox -e bench-cpu")"); fi
if [ "$only" != bench-cpu ]; then results+=("$(run_step tests "$setup && tox")"); fi
{ printf '{'; (IFS=,; printf '%s' "${results[*]}"); printf '}\n'; } > "$out/fresh-machine.json"
rm -rf "$out/report"
[ -d "$work/src/reports/latest" ] && cp -r "$work/src/reports/latest" "$out/report"
cat "$out/fresh-machine.json"
! grep -q '"rc": [1-9]' "$out/fresh-machine.json"
