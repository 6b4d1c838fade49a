#!/usr/bin/env bash
# Integration layer: starts the lab every ansible-test target shares (its shape is setup_lab's default, so a
# target run alone gets the same lab), runs the targets, and always takes that lab down again.
# At the same time (in the background, output shown when the targets are done) it runs the pytest suites that drive
# labs of their own through the real SDK, IPMI clients and ansible-playbook (tests/lab_tests, tests/playbook_tests),
# after making the venv with oVirt's own collection that tests/playbook_tests/test_ovirt_ansible_fidelity.py runs.
# The two halves share nothing (their own labs, ports, state directories and output trees); much of each one's time
# is spent waiting on a lab, so together they take little longer than the longer one alone.
set -euo pipefail
tree=${1:?usage: run-integration.sh TEST_TREE}
top=$(cd "$(dirname "$0")/.." && pwd)
py="$top/.venv/bin/python"
state="$tree/tests/output/lab"

suites_log=$(mktemp)
suites_pid=
# on any exit: stop the suites if they still run, take the targets' lab down, drop the suites' log
on_exit() {
  if [ -n "$suites_pid" ]; then kill "$suites_pid" 2>/dev/null || true; fi
  (cd "$tree" && "$py" -m tests.lab down --state-dir "$state") >/dev/null 2>&1 || true
  rm -f "$suites_log"
}
trap on_exit EXIT

suites_job() {
  # oVirt's own modules for the fidelity test (tests/playbook_tests/test_ovirt_ansible_fidelity.py), in a venv of their own;
  # an unreachable package index (status 75) leaves the test to skip and say so, any other failure fails the layer
  ovirt_rc=0
  bash "$top/scripts/install-ovirt-ansible.sh" || ovirt_rc=$?
  if [ "$ovirt_rc" -eq 75 ]; then
    echo "integration: ovirt.ovirt venv not made (package index unreachable); its fidelity test will skip"
  elif [ "$ovirt_rc" -ne 0 ]; then
    echo "integration: scripts/install-ovirt-ansible.sh failed ($ovirt_rc)" >&2
    exit "$ovirt_rc"
  fi

  suites=()
  for d in tests/lab_tests tests/playbook_tests; do
    if [ -d "$top/$d" ]; then suites+=("$d"); fi
  done
  if [ "${#suites[@]}" -gt 0 ]; then
    # two workers, each test file on one of them (a file's tests share its labs and follow each other)
    (cd "$top" && "$top/.venv/bin/pytest" -p no:cacheprovider -n 2 --dist loadfile "${suites[@]}")
  fi
}
suites_job >"$suites_log" 2>&1 &
suites_pid=$!

# errexit holds inside the subshell only when its status is not tested (as `( ... ) || rc=$?` would)
set +e
(
  set -e
  targets=0
  if [ -d "$tree/tests/integration/targets" ]; then
    targets=$(find "$tree/tests/integration/targets" -mindepth 1 -maxdepth 1 -type d ! -name 'setup_*' | wc -l)
  fi
  if [ "$targets" -eq 0 ]; then
    echo "integration: no ansible-test targets yet"
  else
    shape=$("$py" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["setup_lab_up_args"])' \
      "$tree/tests/integration/targets/setup_lab/defaults/main.yml")
    read -r -a up_args <<< "$shape"
    mkdir -p "$tree/tests/output"
    (cd "$tree" && "$py" -m tests.lab up --state-dir "$state" "${up_args[@]}")
    (cd "$tree" && "$top/.venv/bin/ansible-test" integration --local --python 3.11 --color no)
    # the targets share one lab: it must not have seen a split brain, an unsafe fence or any other violation
    (cd "$tree" && "$py" -m tests.lab violations --state-dir "$state")
  fi
)
targets_rc=$?
set -e

suites_rc=0
wait "$suites_pid" || suites_rc=$?
suites_pid=
echo "integration: the lab pytest suites (run alongside the targets):"
cat "$suites_log"
rc=$suites_rc
if [ "$targets_rc" -ne 0 ]; then
  echo "integration: the ansible-test targets failed ($targets_rc)" >&2
  rc=$targets_rc
fi
on_exit
trap - EXIT
exit "$rc"
