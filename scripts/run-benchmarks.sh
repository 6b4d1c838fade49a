#!/usr/bin/env bash
# Runs every benchmark under tests/benchmarks (bench_*.py). Each one measures its baseline in the same run and
# prints its figures and ratios; none of them asserts a time.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
shopt -s nullglob
benches=(tests/benchmarks/bench_*.py)
if [ "${#benches[@]}" -eq 0 ]; then
  echo "bench: no benchmarks yet"
  exit 0
fi
for b in "${benches[@]}"; do
  mod=${b%.py}; mod=${mod//\//.}
  echo "==== $b"
  "$top/.venv/bin/python" -m "$mod" "$@"
done
