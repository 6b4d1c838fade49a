#!/usr/bin/env bash
# Builds the HTML documentation site: the user guide (docs/*.md, docs/roles/*.md) and the module and
# role reference antsibull-docs renders from the collection, with the Sphinx config in docs/site/.
#   build-docs-site.sh [OUT]   OUT defaults to .build/docs-site; the site lands in OUT/html
# Sphinx sources are assembled in OUT/src (a warning about OUT/src/X.md is about docs/X.md).
# Any Sphinx warning fails the build (-W -n), but all of them are reported first (--keep-going).
# Needs ANSIBLE_COLLECTIONS_PATH to hold ansible_collections/ovirt_ha/core (the Makefile exports .build).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/.build/docs-site}
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src

rm -rf "$src" "$out/html" "$out/doctrees"
mkdir -p "$src"
chmod 700 "$src"  # antsibull-docs writes only into a directory no one else can write to
antsibull-docs collection --use-current --fail-on-error --dest-dir "$src" ovirt_ha.core >/dev/null

cd "$top/docs"
find . -name '*.md' -not -path './site/*' -not -path './modules/*' -not -path './_build/*' -print0 \
  | tar --null -T - -cf - | tar -xf - -C "$src"
cp "$top/docs/site/index.md" "$src/index.md"

sphinx-build -b html -q -W --keep-going -n -c "$top/docs/site" -d "$out/doctrees" "$src" "$out/html"
echo "documentation site built: $out/html/index.html"
