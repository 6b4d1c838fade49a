#!/usr/bin/env bash
# Molecule layer: runs every scenario under extensions/molecule (the collection layout molecule 25+ reads),
# each with its full sequence (create, converge, idempotence, verify, destroy).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scenarios=()
for f in extensions/molecule/*/molecule.yml; do
  [ -e "$f" ] || continue
  name=$(basename "$(dirname "$f")")
  [ "$name" = "default" ] && continue
  scenarios+=("$name")
done
if [ "${#scenarios[@]}" -eq 0 ]; then
  echo "molecule: no scenarios yet"
  exit 0
fi
for s in "${scenarios[@]}"; do
  echo "molecule: scenario $s"
  "$top/.venv/bin/molecule" test -s "$s"
  echo "molecule: scenario $s passed"
done
