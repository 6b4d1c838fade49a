#!/usr/bin/env bash
# Runs one test layer, shows its output, and records how many checks it ran and how long it took.
#   run-layer.sh NAME COMMAND...   run a layer; exit non-zero when it fails
#   run-layer.sh --summary         print the table of layers run so far, then reset it
# RUN_LAYER_NO_SUMMARY=1: a failed layer only records itself (for a layer run in the background, whose caller
# prints the table when the layers beside it are done).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
summary="$top/.build/layers.tsv"
mkdir -p "$top/.build/logs"

if [ "${1:-}" = "--summary" ]; then
  [ -f "$summary" ] || exit 0
  echo
  echo "================ test layers ================"
  awk -F'\t' '{printf "  %-12s %-6s %6ss  %s\n", $1, $2, $3, $4; n += $5} END {printf "  total checks counted: %d\n", n}' "$summary"
  passed=$(awk -F'\t' '$2=="ok" {n += $5} END {print n+0}' "$summary")
  failed=$(awk -F'\t' '$2!="ok" {n += 1} END {print n+0}' "$summary")
  echo "${passed} passed, ${failed} failed"
  # wall time since `make test` began (some layers run side by side, so the rows do not add up to it)
  if [ -f "$top/.build/layers.start" ]; then
    took=$(( $(date +%s) - $(cat "$top/.build/layers.start") ))
    printf 'layers took %dm %02ds in all\n' $((took / 60)) $((took % 60))
    rm -f "$top/.build/layers.start"
  fi
  rm -f "$summary"
  exit 0
fi

name=$1; shift
log="$top/.build/logs/$name.log"
echo
echo "================ layer: $name ================"
start=$(date +%s)
"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
secs=$(( $(date +%s) - start ))
# CPU seconds of the layer's processes (user + system, as bash's `times` reports for waited-for children)
# (`times` itself runs in this shell: in a pipeline or a $(...) it would report a subshell's children)
times_out=$(mktemp)
times >"$times_out"
cpu=$(tail -n 1 "$times_out" | awk '{t = 0; for (i = 1; i <= NF; i++) {split($i, p, "m"); t += p[1] * 60 + p[2]}; printf "%d", t}')
rm -f "$times_out"

# How many checks the layer ran, read from its own tool's output.
count() { grep -cE "$1" "$log" || true; }
last_num() { grep -oE "$1" "$log" | tail -n 1 | grep -oE '[0-9]+' | head -n 1; }
case "$name" in
  sanity)      n=$(count "^Running sanity test "); what="$n sanity tests" ;;
  lint)        n=$(last_num "in [0-9]+ files processed"); n=${n:-0}; what="ansible-lint on $n files, yamllint clean" ;;
  mypy)        n=$(last_num "in [0-9]+ source files"); n=${n:-0}; what="$n source files type-checked" ;;
  units)       n=$(last_num "[0-9]+ passed"); n=${n:-0}; what="$n unit tests passed" ;;
  changelog)   n=$(find "$top/changelogs/fragments" -maxdepth 1 -name '*.y*ml' | wc -l); what="$n fragments linted" ;;
  docs-lint)   m=$(find "$top/plugins/modules" -maxdepth 1 -name '*.py' | wc -l); p=$(last_num "[0-9]+ passed"); p=${p:-0}
               n=$((m + p)); what="docs of $m modules linted, site built, $p site checks passed" ;;
  integration) t=$(count "^Running [a-z0-9_]+ integration test role"); p=$(last_num "[0-9]+ passed"); p=${p:-0}
               n=$((t + p)); what="$t ansible-test targets, $p lab tests (SDK, IPMI, playbooks) passed" ;;
  scenarios)   n=$(last_num "[0-9]+ passed"); n=${n:-0}; what="$n HA scenario and chaos tests on the virtual clock passed" ;;
  molecule)    n=$(count "^molecule: scenario .* passed"); what="$n molecule scenarios" ;;
  ee)          n=1; what="execution environment context built" ;;
  package)     n=$(grep -cE "^ovirt_ha\.core\." "$log" || true); what="tarball built, installed offline, $n modules listed" ;;
  *)           n=0; what="" ;;
esac
if [ "$rc" -eq 0 ]; then status=ok; else status=FAILED; fi
printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$secs" "$what" "$n" >> "$summary"
echo "---- layer $name: $status in ${secs}s, ${cpu}s of CPU ($what)"
if [ "$rc" -ne 0 ] && [ -n "${RUN_LAYER_NO_SUMMARY:-}" ]; then
  exit "$rc"
elif [ "$rc" -ne 0 ]; then
  bash "$0" --summary
  echo "layer $name failed (exit $rc); log: $log" >&2
  exit "$rc"
fi
