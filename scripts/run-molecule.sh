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
  for f in extensions/molecule/*/molecule.yml; do
    [ -e "$f" ] || continue
    name=$(basename "$(dirname "$f")")
    [ "$name" = "default" ] && continue
    scenarios+=("$name")
  done
fi
if [ "${#scenarios[@]}" -eq 0 ]; then
  echo "molecule: no scenarios yet"
  exit 0
fi
for s in "${scenarios[@]}"; do
  echo "molecule: scenario $s"
  "$top/.venv/bin/molecule" test -s "$s"
  echo "molecule: scenario $s passed"
done
