"""The generated copies of mirror/settings.py's knobs: docker-bake.hcl's variables and the README table.

Both files carry a block between BEGIN/END markers that only this module
writes (`python3 -m mirror.knobs --write`); tests/unit/test_knobs.py fails
when a block is out of step with Settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mirror.settings import FIELDS

REPO = Path(__file__).resolve().parents[1]
BEGIN = "BEGIN generated from mirror/settings.py (python3 -m mirror.knobs --write)"
END = "END generated from mirror/settings.py"


def bake_knobs() -> list[tuple[str, str, str, str]]:
    """(variable, default as bake writes it, description, build.py option) for every bake knob."""
    knobs = []
    for field in FIELDS.values():
        meta = field.metadata
        if not meta["variable"]:
            continue
        default = meta["bake_default"] if meta["bake_default"] is not None else field.default
        if isinstance(default, bool):
            default = "1" if default else "0"
        knobs.append((meta["variable"], "" if default is None else str(default), meta["description"],
                      meta["flag"] or "--" + field.name.replace("_", "-")))
    return knobs


def bake_block() -> str:
    lines = []
    for variable, default, description, _ in bake_knobs():
        lines += [f'variable "{variable}" {{', f"  default     = {json.dumps(default)}",
                  f"  description = {json.dumps(description)}", "}", ""]
    return "\n".join(lines).rstrip() + "\n"


def readme_block() -> str:
    rows = ["| bake variable | build.py option | default | what it does |", "|---|---|---|---|"]
    for variable, default, description, flag in bake_knobs():
        shown = f"`{default}`" if default else "(empty)"
        rows.append(f"| `{variable}` | `{flag}` | {shown} | {description.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def splice(text: str, block: str, begin: str, end: str) -> str:
    """text with the lines between the begin and end marker lines replaced by block."""
    head, rest = text.split(begin + "\n", 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{block}{end}{tail}"


def page_with_markers(marker: str) -> Path:
    """The Markdown page holding the generated table's markers (docs/knobs.md; README.md before it moved).

    Neither page is in the image's build context, where mirror.layers imports this module.
    """
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        if path.is_file() and marker.format(BEGIN) in path.read_text(encoding="utf-8"):
            return path
    return REPO / "docs" / "knobs.md"


# file -> (block maker, marker line format)
TARGETS = {
    REPO / "docker-bake.hcl": (bake_block, "# {}"),
    page_with_markers("<!-- {} -->"): (readme_block, "<!-- {} -->"),
}


def expected(path: Path) -> str:
    make, marker = TARGETS[path]
    return splice(path.read_text(encoding="utf-8"), make(), marker.format(BEGIN), marker.format(END))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m mirror.knobs", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the generated blocks in place")
    args = parser.parse_args(argv)
    stale = []
    for path in TARGETS:
        want = expected(path)
        if path.read_text(encoding="utf-8") != want:
            stale.append(path.name)
            if args.write:
                path.write_text(want, encoding="utf-8")
    if stale and not args.write:
        print(f"out of step with mirror/settings.py: {', '.join(stale)} (run python3 -m mirror.knobs --write)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
