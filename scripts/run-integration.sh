#!/usr/bin/env bash
# Integration layer: starts the lab for the ansible-test targets (setup_lab reuses it), runs every target
# against it, and always takes the lab down again. Afterwards runs the pytest suites that drive the lab
# through the real SDK, IPMI clients and ansible-playbook (tests/lab_tests, tests/playbook_tests).
set -euo pipefail
tree=${1:?usage: run-integration.sh TEST_TREE}
top=$(cd "$(dirname "$0")/.." && pwd)
py="$top/.venv/bin/python"
state="$tree/tests/output/lab"
read -r -a up_args <<< "${LAB_UP_ARGS:---hosts 4 --vms 20 --hosted-engine --time-scale 20}"

cleanup() { (cd "$tree" && "$py" -m tests.lab down --state-dir "$state") >/dev/null 2>&1 || true; }
trap cleanup EXIT

targets=0
if [ -d "$tree/tests/integration/targets" ]; then
  targets=$(find "$tree/tests/integration/targets" -mindepth 1 -maxdepth 1 -type d ! -name 'setup_*' | wc -l)
fi
if [ "$targets" -eq 0 ]; then
  echo "integration: no ansible-test targets yet"
else
  mkdir -p "$tree/tests/output"
  (cd "$tree" && "$py" -m tests.lab up --state-dir "$state" "${up_args[@]}")
  (cd "$tree" && "$top/.venv/bin/ansible-test" integration --local --python 3.11 --color no)
fi

suites=()
for d in tests/lab_tests tests/playbook_tests; do
  if [ -d "$top/$d" ]; then suites+=("$d"); fi
done
if [ "${#suites[@]}" -gt 0 ]; then
  cleanup
  (cd "$top" && "$top/.venv/bin/pytest" -p no:cacheprovider "${suites[@]}")
fi
