"""Lab stand-in for ``systemctl start|stop|restart|is-active ovirt-ha-agent|ovirt-ha-broker`` outside containers.

The scenario harness runs the collection's host-side modules on the controller, one directory per simulated host;
this script tells that host's lab socket (``HE_STANDIN_SOCKET``) what systemd would do.  In the molecule
containers the real systemctl runs the stand-in units instead (``ovirt-ha-lab-*.service``), which call the same
socket through ``hosted-engine --lab-service``.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hosted_engine_cli  # noqa: E402  pylint: disable=wrong-import-position


def main(argv: list) -> int:
    if len(argv) < 2:
        sys.stderr.write("usage: systemctl ACTION UNIT...\n")
        return 2
    action, units = argv[0], argv[1:]
    code = 0
    for unit in units:
        code = code or hosted_engine_cli.main(["--lab-service", unit.replace(".service", ""), action])
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
