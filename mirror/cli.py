"""The command line: arguments -> Settings -> pipeline; known errors -> one line, exit 1."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mirror import __version__
from mirror.errors import MirrorError
from mirror.pipeline import build
from mirror.settings import DEFAULT_INDEX_URL, DEFAULT_PLATFORMS, DEFAULT_PYTHON_VERSIONS, Settings
from mirror.targets import PLATFORMS
from mirror.upstream import mask

PROG = "pypi-mirror"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s", stream=sys.stderr)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        args.run(args)
    except MirrorError as exc:
        print(f"{PROG}: error: {mask(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


def _run_build(args: argparse.Namespace) -> None:
    build(Settings(
        out=args.out,
        requirements=args.requirements,
        lock=args.lock,
        index_url=args.index_url,
        python_versions=args.python_versions,
        platforms=args.platforms,
        include_sdists=args.include_sdists,
        skip_missing_wheels=args.skip_missing_wheels,
        ca_bundle=args.ca_bundle,
        cache_dir=args.cache_dir,
        nginx_map=args.nginx_map,
        jobs=args.jobs,
    ))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description="Build a static PyPI mirror.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    b = commands.add_parser("build", help="resolve, download, verify and write the mirror tree",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    b.set_defaults(run=_run_build)
    source = b.add_mutually_exclusive_group(required=True)
    source.add_argument("-r", "--requirements", type=Path, help="requirements file to resolve")
    source.add_argument("--lock", type=Path, help="a lock.json from an earlier build: no resolving")
    b.add_argument("-o", "--out", type=Path, required=True, help="folder for the tree (replaced)")
    b.add_argument("--index-url", default=DEFAULT_INDEX_URL, help="upstream Simple API")
    b.add_argument("--python-versions", default=DEFAULT_PYTHON_VERSIONS, help="e.g. '3.9 3.13'")
    b.add_argument("--platforms", default=DEFAULT_PLATFORMS, help=f"any of: {' '.join(PLATFORMS)}")
    b.add_argument("--include-sdists", action="store_true", help="mirror each pin's sdist too")
    b.add_argument("--skip-missing-wheels", action="store_true",
                   help="leave out (with a warning) a target that lacks a wheel, instead of failing")
    b.add_argument("--ca-bundle", help="CA bundle for upstream TLS")
    b.add_argument("--cache-dir", type=Path, help="keeps verified files and resolver data across builds")
    b.add_argument("--nginx-map", type=Path, help="also write nginx's project-name map here")
    b.add_argument("--jobs", type=int, default=8, help="parallel downloads")
    return parser
