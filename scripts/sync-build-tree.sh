#!/usr/bin/env bash
# Lays out the checkout where Ansible and ansible-test expect a collection:
#   .build/ansible_collections/ovirt_ha/core       -> symlink to the checkout (runtime, pytest, molecule, docs)
#   .build/test/ansible_collections/ovirt_ha/core  -> fresh copy of the tracked and unignored files
#     (ansible-test resolves symlinks and refuses a cwd outside an ansible_collections tree).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/.build/ansible_collections/ovirt_ha"
ln -sfn "$top" "$top/.build/ansible_collections/ovirt_ha/core"
dest="$top/.build/test/ansible_collections/ovirt_ha/core"
rm -rf "$dest"
mkdir -p "$dest"
cd "$top"
git ls-files -co --exclude-standard -z \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$dest"
# ansible-test lists files through git when the tree is a repository; give the copy its own.
git -C "$dest" init -q
git -C "$dest" add -A >/dev/null 2>&1
echo "$dest"
