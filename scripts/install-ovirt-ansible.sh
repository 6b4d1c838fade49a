#!/usr/bin/env bash
# A virtual environment used only by the ovirt.ovirt fidelity test (tests/playbook_tests/test_ovirt_ansible_fidelity.py):
# the `ansible` package from PyPI (it bundles oVirt's own ovirt.ovirt collection) and the oVirt SDK. This collection
# itself never depends on ovirt.ovirt; the test only checks that oVirt's modules work against the lab unchanged.
#   install-ovirt-ansible.sh [VENV]   (default: .build/ovirt-ansible-venv of this checkout)
# Idempotent: returns at once when the venv already has exactly these versions.
# Exit status: 0 ready; 75 (EX_TEMPFAIL) the package index cannot be reached (the test then skips); other: failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$top/.build/ovirt-ansible-venv}
python=${PYTHON_BASE:-python3.11}
# ansible 12 bundles ovirt.ovirt and brings ansible-core 2.19, the core this collection is tested with
requirements=("ansible==12.3.0" "ovirt-engine-sdk-python>=4.6,<4.7")
stamp="$venv/.ovirt-ansible-stamp"
want="${requirements[*]}"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/ansible-playbook" ]; then
  exit 0
fi

mkdir -p "$(dirname "$venv")"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
log="$venv/install.log"
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  # tell "the index is out of reach" (skip) from every other failure (a real error)
  unreachable="Could not fetch URL|connection (refused|reset|aborted)|Temporary failure in name resolution"
  unreachable+="|Network is unreachable|Max retries exceeded|No matching distribution found"
  if grep -qiE "$unreachable" "$log" \
     && ! "$venv/bin/python" -m pip download --quiet --no-deps --disable-pip-version-check -d "$venv/.probe" \
          "ovirt-engine-sdk-python>=4.6,<4.7" >/dev/null 2>&1; then
    rm -rf "$venv/.probe"
    echo "install-ovirt-ansible: the package index is unreachable" >&2
    exit 75
  fi
  rm -rf "$venv/.probe"
  echo "install-ovirt-ansible: pip failed (see above)" >&2
  exit 1
fi
"$venv/bin/python" - <<'PY'
import importlib.util
import sys

for name in ("ansible_collections.ovirt.ovirt", "ovirtsdk4", "pycurl"):
    if importlib.util.find_spec(name) is None:
        sys.exit(f"install-ovirt-ansible: {name} is missing after the install")
PY
printf '%s' "$want" > "$stamp"
