"""python -m tests.scenarios [--update] [NAME ...]: run scenarios (all by default), compare or rewrite expected.log."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

from tests.scenarios import harness


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.scenarios", description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite expected.log from this run")
    parser.add_argument("names", nargs="*", help="scenario directory names or prefixes (default: all)")
    args = parser.parse_args()
    paths = [p for p in harness.discover() if not args.names or any(p.name.startswith(n) for n in args.names)]
    if not paths:
        print("no scenario matches", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        start = time.monotonic()
        try:
            scenario = harness.load(path)
            with tempfile.TemporaryDirectory(prefix="scenario-") as work:
                lines = harness.run(scenario, work)
            harness.compare(scenario, lines, update=args.update)
            print(f"{'updated' if args.update else 'ok':8} {path.name} ({time.monotonic() - start:.1f} s)")
        except AssertionError as exc:
            failed += 1
            print(f"FAILED   {path.name}\n{exc}\n")
    print(f"{len(paths) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
