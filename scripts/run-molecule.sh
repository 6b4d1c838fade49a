#!/usr/bin/env bash
# Molecule layer: runs every scenario under extensions/molecule (the collection layout molecule 25+ reads),
# each with its full sequence (create, converge, idempotence, verify, destroy).
#   run-molecule.sh              every scenario
#   run-molecule.sh NAME...      only these scenarios
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# make exports these; set them too when the script is run by hand
if [ -d "$top/.venv/bin" ]; then
  export PATH="$top/.venv/bin:$PATH"
fi
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$top/.build}"
scenarios=()
if [ "$#" -gt 0 ]; then
  for name in "$@"; do
    if [ ! -e "extensions/molecule/$name/molecule.yml" ]; then
      echo "molecule: no scenario $name (extensions/molecule/$name/molecule.yml)" >&2
      exit 2
    fi
    scenarios+=("$name")
  done
else
  # the longest scenarios (several containers, a hosted-engine lab on a scaled real clock) start first, so the
  # short ones fill the gaps instead of one long scenario running alone at the end
  long_first=(hosted_engine_ha ha_runtime_hosted_engine storage_ha)
  for name in "${long_first[@]}"; do
    if [ -e "extensions/molecule/$name/molecule.yml" ]; then scenarios+=("$name"); fi
  done
  for f in extensions/molecule/*/molecule.yml; do
    [ -e "$f" ] || continue
    name=$(basename "$(dirname "$f")")
    [ "$name" = "default" ] && continue
    case " ${long_first[*]} " in *" $name "*) continue ;; esac
    scenarios+=("$name")
  done
fi
if [ "${#scenarios[@]}" -eq 0 ]; then
  echo "molecule: no scenarios yet"
  exit 0
fi
# MOLECULE_JOBS scenarios run at once (default 3: most of a scenario's time is SSH round trips and waits, and
# scenarios share nothing: their own containers, labels, ports and labs), each for at most MOLECULE_TIMEOUT seconds
# (default 1800). Each one's output is shown when it ends.
jobs=${MOLECULE_JOBS:-3}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
run_one() {
  local s=$1
  date +%s >"$logs/$s.start"
  if timeout "${MOLECULE_TIMEOUT:-1800}" "$top/.venv/bin/molecule" test -s "$s" >"$logs/$s.log" 2>&1; then
    echo ok >"$logs/$s.rc"
  else
    echo failed >"$logs/$s.rc"
  fi
}
pending=("${scenarios[@]}")
running=()
while [ "${#pending[@]}" -gt 0 ] || [ "${#running[@]}" -gt 0 ]; do
  while [ "${#pending[@]}" -gt 0 ] && [ "${#running[@]}" -lt "$jobs" ]; do
    s=${pending[0]}; pending=("${pending[@]:1}")
    echo "molecule: scenario $s started"
    run_one "$s" &
    running+=("$s:$!")
  done
  still=()
  for entry in "${running[@]}"; do
    s=${entry%%:*}; pid=${entry##*:}
    if kill -0 "$pid" 2>/dev/null; then
      still+=("$entry")
      continue
    fi
    wait "$pid" || true
    cat "$logs/$s.log"
    took=$(( $(date +%s) - $(cat "$logs/$s.start") ))
    if [ "$(cat "$logs/$s.rc" 2>/dev/null)" = ok ]; then
      echo "molecule: scenario $s passed in ${took}s"
    else
      echo "molecule: scenario $s FAILED after ${took}s"
      failed+=("$s")
    fi
  done
  running=("${still[@]+"${still[@]}"}")
  sleep 2
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "molecule: failed scenarios: ${failed[*]}" >&2
  exit 1
fi
