"""The command line: arguments -> Settings -> pipeline; known errors -> one line, exit 1."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from mirror import __version__
from mirror.errors import MirrorError, VerifyFailed
from mirror.pipeline import build
from mirror.settings import ENV_PREFIX, FIELDS, Settings, env_default, flag_of
from mirror.upstream import mask
from mirror.verify import Verifier

PROG = "pypi-mirror"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s", stream=sys.stderr)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        args = _parser().parse_args(argv)  # PYPI_MIRROR_* defaults are read here and may be malformed
        args.handler(args)
    except MirrorError as exc:
        print(f"{PROG}: error: {mask(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


def _run_build(args: argparse.Namespace) -> None:
    build(Settings(**{name: getattr(args, name) for name in FIELDS}))


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
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                            epilog=f"Every option also reads {ENV_PREFIX}<NAME> from the environment "
                                   "(the bake variable's name, e.g. PYPI_MIRROR_PYTHON_VERSIONS).")
    b.set_defaults(handler=_run_build)
    _add_settings(b)

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


def _add_settings(parser: argparse.ArgumentParser) -> None:
    """One option per Settings field, its default from PYPI_MIRROR_<NAME> when set."""
    source = parser.add_mutually_exclusive_group()
    for name, field in FIELDS.items():
        meta = field.metadata
        names = [n for n in (meta["short"], flag_of(field)) if n]
        options = {"help": meta["description"], "dest": name, "default": env_default(field),
                   "required": meta["required"]}
        if meta["kind"] == "bool":
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = {"path": Path, "int": int}.get(meta["kind"])
            options["choices"] = meta["choices"]
        group = source if name in ("requirements", "lock") else parser
        group.add_argument(*names, **options)
