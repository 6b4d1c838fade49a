#!/usr/bin/env bash
# The static layers of `make test`: ansible-test sanity runs in the background (it keeps one core busy, one test
# after another) while lint, mypy, changelog and docs-lint run one after another on the other core. Sanity's output
# is shown when it ends. Each layer is recorded by run-layer.sh as when run alone; the first failure stops the rest.
# Nothing here may rebuild the build tree while sanity reads it, hence `make -o build-tree`.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
layer="$top/scripts/run-layer.sh"
make_=(make --no-print-directory -C "$top" -o build-tree)
bash "$top/scripts/sync-build-tree.sh" >/dev/null

sanity_out=$(mktemp)
sanity_pid=
# on any exit: stop sanity if it still runs (its whole process group), drop its output file
trap 'if [ -n "$sanity_pid" ]; then kill -- "-$sanity_pid" 2>/dev/null || true; fi; rm -f "$sanity_out"' EXIT
echo "static layers: sanity runs in the background; its output follows the other layers"
# its own process group (setsid), so that stopping it stops ansible-test too; the summary is printed here, not by it
RUN_LAYER_NO_SUMMARY=1 setsid bash "$layer" sanity "${make_[@]}" sanity >"$sanity_out" 2>&1 &
sanity_pid=$!

set +e
(
  set -e
  bash "$layer" lint "${make_[@]}" lint
  bash "$layer" mypy "${make_[@]}" mypy
  bash "$layer" changelog "${make_[@]}" changelog-lint
  bash "$layer" docs-lint "${make_[@]}" docs-lint
)
rest_rc=$?
set -e
if [ "$rest_rc" -ne 0 ]; then
  echo "static layers: a layer failed ($rest_rc); sanity stopped" >&2
  exit "$rest_rc"
fi
sanity_rc=0
wait "$sanity_pid" || sanity_rc=$?
sanity_pid=
cat "$sanity_out"
if [ "$sanity_rc" -ne 0 ]; then
  bash "$layer" --summary
  echo "layer sanity failed (exit $sanity_rc); log: $top/.build/logs/sanity.log" >&2
fi
exit "$sanity_rc"
