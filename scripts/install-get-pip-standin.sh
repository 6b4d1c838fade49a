#!/usr/bin/env bash
# ansible-test bootstraps pip in its sanity venvs from a get-pip script it downloads from a host that is not
# reachable here; it uses a cached file instead when one exists. This stand-in bootstraps pip from the Python
# stdlib (ensurepip) and then lets pip install what ansible-test asked for from the package index.
set -euo pipefail
py=${1:?usage: install-get-pip-standin.sh PYTHON}
ver=$("$py" - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${ver//./_}.py"
mkdir -p "$(dirname "$cache")"
cat > "$cache.tmp" <<'PY'
"""Stand-in for get-pip.py written by ovirt_ha.core's scripts/install-get-pip-standin.sh."""
import ensurepip
import importlib
import os
import sys

ensurepip.bootstrap(upgrade=True)
importlib.invalidate_caches()
from pip._internal.cli.main import main  # noqa: E402  (pip exists only after the bootstrap)

ca = "/etc/ssl/certs/ca-certificates.crt"
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
extra = ["--cert", ca] if os.path.exists(ca) else []
sys.exit(main(["install", *extra, *args]))
PY
mv "$cache.tmp" "$cache"
echo "get-pip stand-in: $cache"
