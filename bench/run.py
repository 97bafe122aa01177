"""bench/run's Python half: run the chosen suites, print their tables, write BENCHMARKS.md.

Exit status: 0 when every chosen suite ran (whatever its goals say), 1 when
one broke. A broken suite does not stop the others.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

from common import REPO, BenchError, Settings, log, rmtree

sys.path.insert(0, str(REPO))  # scale.py drives the mirror package directly

import auth  # noqa: E402
import buildtime  # noqa: E402
import osv  # noqa: E402
import layerplan  # noqa: E402
import layers  # noqa: E402
import matrix  # noqa: E402
import pages  # noqa: E402
import report  # noqa: E402
import scale  # noqa: E402
import servers  # noqa: E402
import tls  # noqa: E402
import trust  # noqa: E402

SUITES = {
    "servers": servers.suite,
    "scale": scale.suite,
    "build": buildtime.suite,
    "matrix": matrix.suite,
    "tls-load": tls.suite,
    "osv": osv.suite,
    "layers": layers.suite,
    "layer-plan": layerplan.suite,
    "auth": auth.suite,
    "pages": pages.suite,
    "trust": trust.suite,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=f"any of: {' '.join(SUITES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="shorter runs and fewer rounds (a smoke test)")
    parser.add_argument("--output", type=Path, default=REPO / "BENCHMARKS.md", help="results file to update")
    parser.add_argument("--no-write", action="store_true", help="print only, leave the results file alone")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new one under /dev/shm, removed)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {' '.join(unknown)} (choose from: {' '.join(SUITES)})")

    work = args.work or Path(tempfile.mkdtemp(prefix="pypi-mirror-bench-", dir="/dev/shm"))
    work.mkdir(parents=True, exist_ok=True)
    settings = Settings(work=work, quick=args.quick, python=sys.executable)
    broken = []
    try:
        for name in args.suites or list(SUITES):
            started = time.monotonic()
            log(f"suite {name} ({'quick' if args.quick else 'full'})")
            try:
                section = SUITES[name](settings)
            except BenchError as exc:
                log(f"suite {name} broke: {exc}")
                broken.append(name)
                continue
            except Exception:
                traceback.print_exc()
                broken.append(name)
                continue
            body = report.render(section, quick=args.quick)
            print("\n" + body, flush=True)
            if not args.no_write:
                report.write(args.output, name, body)
            log(f"suite {name} done in {time.monotonic() - started:.0f} s")
    finally:
        if not args.work:
            rmtree(work)
    if broken:
        log(f"broken: {' '.join(broken)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
