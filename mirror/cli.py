"""The command line: arguments -> Settings -> pipeline; known errors -> one line, exit 1."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from mirror import __version__
from mirror.core.http import mask
from mirror.errors import InputError, MirrorError, VerifyFailed
from mirror.pipeline import build
from mirror.publish.publish import publish
from mirror.settings import ENV_PREFIX, FIELDS, Settings, env_default, flag_of, spell
from mirror.verify.standards import require_names
from mirror.verify.verify import Verifier

PROG = "pypi-mirror"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s", stream=sys.stderr)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        args = _parser().parse_args(argv)  # PYPI_MIRROR_* defaults are read here and may be malformed
        args.handler(args)
    except MirrorError as exc:
        print(f"{PROG}: error: {mask(exc.explain(spell))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0


def _run_build(args: argparse.Namespace) -> None:
    build(Settings(**{name: getattr(args, name) for name in FIELDS}))


def _run_verify(args: argparse.Namespace) -> None:
    try:
        require = require_names(args.require)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    checks = Verifier(args.url, ca_file=args.ca_bundle, sample=args.sample, projects=args.projects,
                      install=args.install.split(), run=args.run.split(), require=require,
                      appliance=args.appliance).verify()
    if args.json:
        args.json.write_text(json.dumps([c.to_json() for c in checks], indent=1) + "\n")
    failed = [c.name for c in checks if c.status == "FAIL"]
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
    _add_shared(v, "ca_bundle", "CA bundle that signs the mirror's certificate")
    v.add_argument("--sample", type=int, help="hash only this many files (a fixed sample) instead of all")
    v.add_argument("--install", default="pip-audit",
                   help="requirements to install into a throw-away venv through the mirror ('' skips it)")
    v.add_argument("--run", default="pip-audit --version", help="command from that venv's bin/ to run after")
    v.add_argument("--json", type=Path, help="also write the results here")
    v.add_argument("--require", action="append", default=[], metavar="PEP",
                   help="fail when this standard is ABSENT (503, 592, 629, 691, 700, 658, 714, 740); repeatable")
    v.add_argument("--appliance", action=argparse.BooleanOptionalAction, default=None,
                   help="require the appliance's own checks (default: when /mirror.json answers)")
    v.add_argument("--projects", type=int, help="read only this many project pages (a fixed sample) instead of all")
    _add_publish(commands)
    return parser


def _add_settings(parser: argparse.ArgumentParser) -> None:
    """One option per Settings field, its default from PYPI_MIRROR_<NAME> when set."""
    source = parser.add_mutually_exclusive_group()
    for name, field in FIELDS.items():
        group = source if name in ("requirements", "lock") else parser
        _add_option(group, field, field.metadata["description"], env_default(field))


def _add_shared(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    """A build option that verify or publish take too: its name, aliases, type and default, with the
    help saying what it means there. The environment is build's alone (PYPI_MIRROR_* are build inputs)."""
    field = FIELDS[name]
    _add_option(parser, field, help, field.default)


def _add_option(parser, field, help: str, default) -> None:
    """The field's option (and short form), plus its earlier spellings: accepted, absent from --help."""
    meta = field.metadata
    options = {"dest": field.name, "required": meta["required"]}
    if meta["kind"] == "bool":
        options["action"] = argparse.BooleanOptionalAction
    else:
        options["type"] = {"path": Path, "int": int}.get(meta["kind"])
        options["choices"] = meta["choices"]
    parser.add_argument(*[n for n in (meta["short"], flag_of(field)) if n], help=help, default=default, **options)
    if meta["aliases"]:
        parser.add_argument(*meta["aliases"], help=argparse.SUPPRESS, default=argparse.SUPPRESS,
                            **{**options, "required": False})


# --- build.py publish (issue 17): kept apart so the option registry above merges cleanly.

def _run_publish(args: argparse.Namespace) -> None:
    if args.url and args.repository_url and args.url != args.repository_url:
        raise InputError(f"publish: two upload URLs, {args.url} and --repository-url {args.repository_url}")
    publish(args.tree, args.url or args.repository_url, index_url=args.index_url, ca_file=args.ca_bundle,
            jobs=args.jobs, repository=args.repository, config_file=args.config_file,
            skip_existing=args.skip_existing)


def _add_publish(commands) -> None:
    p = commands.add_parser("publish", help="upload the mirror's files into an existing index (through twine)",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.set_defaults(handler=_run_publish)
    p.add_argument("url", nargs="?", help="the index's upload URL, e.g. https://nexus.example/repository/pypi-hosted/"
                                          " (or --repository NAME); credentials from TWINE_USERNAME/TWINE_PASSWORD, "
                                          "~/.pypirc, keyring or netrc, never here")
    p.add_argument("--repository-url", help="the upload URL, as twine spells it (TWINE_REPOSITORY_URL also works)")
    p.add_argument("-r", "--repository", metavar="NAME",
                   help="a section of ~/.pypirc: its URL, user, password, ca_cert (TWINE_REPOSITORY also works)")
    p.add_argument("--config-file", help="the .pypirc to read (default: twine's, ~/.pypirc)")
    p.add_argument("--skip-existing", action="store_true",
                   help="a file the index refuses as already there (twine's reading: 409, or 400 'already "
                        "exists') counts as skipped, not failed")
    p.add_argument("--tree", type=Path, required=True, help="the mirror tree (build.py build -o DIR)")
    p.add_argument("--index-url", help="the index's Simple API (default: URL/simple/, or URL/+simple/ for devpi)")
    _add_shared(p, "ca_bundle", "CA bundle that signs the index's certificate")
    _add_shared(p, "jobs", "parallel uploads")
