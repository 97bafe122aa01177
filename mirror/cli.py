"""The command line: arguments -> Settings -> pipeline; known errors -> one line, exit 1."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from mirror import __version__
from mirror.audit import MODES, SERVICES
from mirror.errors import MirrorError, VerifyFailed
from mirror.pipeline import build
from mirror.settings import DEFAULT_INDEX_URL, DEFAULT_PLATFORMS, DEFAULT_PYTHON_VERSIONS, OSV_EXPORT_URL, Settings
from mirror.targets import PLATFORMS
from mirror.upstream import mask
from mirror.verify import Verifier

PROG = "pypi-mirror"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s", stream=sys.stderr)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        args.handler(args)
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
        audit=args.audit,
        vuln_db=args.vuln_db,
        vuln_db_url=args.vuln_db_url,
        vuln_service=args.vuln_service,
        audit_ignore=args.audit_ignore,
        previous_manifest=args.previous_manifest,
        previous_audit=args.previous_audit,
        keep_previous_pins=args.keep_previous_pins,
    ))


def _run_verify(args: argparse.Namespace) -> None:
    steps = Verifier(args.url, ca_file=args.ca_file, sample=args.sample, install=args.install.split(),
                     run=args.run.split()).verify()
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(s) for s in steps], indent=1) + "\n")
    failed = [s.name for s in steps if not s.ok]
    if failed:
        raise VerifyFailed(mask(args.url), failed)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description="Build a static PyPI mirror.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    b = commands.add_parser("build", help="resolve, download, verify and write the mirror tree",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    b.set_defaults(handler=_run_build)
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
    b.add_argument("--audit", choices=MODES, default="warn",
                   help="known vulnerabilities: report them (warn), fail the build (fail), or skip (off)")
    b.add_argument("--vuln-db", type=Path, help="OSV database export (zip of OSV JSON records, e.g. PyPI/all.zip)")
    b.add_argument("--vuln-db-url", default=OSV_EXPORT_URL,
                   help="without --vuln-db, download the OSV export served under /osv/ from here ('' = never)")
    b.add_argument("--vuln-service", choices=SERVICES, help="ask this online service too (needs network to it)")
    b.add_argument("--audit-ignore", type=Path, help="vulnerability ids to ignore, one `ID  reason` per line")
    b.add_argument("--previous-manifest", type=Path,
                   help="the previous build's mirror.json or lock.json: write changes.json against it")
    b.add_argument("--previous-audit", type=Path, help="the previous build's audit.json, for advisory changes")
    b.add_argument("--keep-previous-pins", action="store_true",
                   help="keep the previous manifest's pins where they still fit; only new requirements resolve")

    v = commands.add_parser("verify", help="check a running mirror by URL, step by step",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    v.set_defaults(handler=_run_verify)
    v.add_argument("url", help="the mirror's base URL, e.g. https://user:pass@mirror.example:8443")
    v.add_argument("--ca-file", help="CA bundle that signs the mirror's certificate")
    v.add_argument("--sample", type=int, help="hash only this many files (a fixed sample) instead of all")
    v.add_argument("--install", default="pip-audit",
                   help="requirements to install into a throw-away venv through the mirror ('' skips it)")
    v.add_argument("--run", default="pip-audit --version", help="command from that venv's bin/ to run after")
    v.add_argument("--json", type=Path, help="also write the results here")
    return parser
