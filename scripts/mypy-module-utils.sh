#!/usr/bin/env bash
# mypy over plugins/module_utils, imported the way Ansible imports them (ansible_collections.ovirt_ha.core...).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if ! find plugins/module_utils -name '*.py' | grep -q .; then
  echo "mypy: no module_utils yet, nothing to check"
  echo "Success: no issues found in 0 source files"
  exit 0
fi
cd .build
exec "$top/.venv/bin/mypy" --config-file "$top/mypy.ini" -p ansible_collections.ovirt_ha.core.plugins.module_utils
