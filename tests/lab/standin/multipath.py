"""Stand-in for C(multipath) in test containers (no device-mapper there): ``multipath -ll`` prints the file
MULTIPATH_STANDIN_OUTPUT names (default /var/lib/multipath-standin/ll.txt), output of the real command's format;
``multipath -r`` / ``-t`` and anything else exit 0 and append their arguments to calls.log next to it.
"""
from __future__ import annotations

import os
import sys

OUTPUT = os.environ.get("MULTIPATH_STANDIN_OUTPUT", "/var/lib/multipath-standin/ll.txt")


def main(argv: list[str]) -> int:
    with open(os.path.join(os.path.dirname(OUTPUT), "calls.log"), "a", encoding="utf-8") as log:
        log.write(" ".join(argv) + "\n")
    if argv == ["-ll"]:
        with open(OUTPUT, encoding="utf-8") as stream:
            sys.stdout.write(stream.read())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
