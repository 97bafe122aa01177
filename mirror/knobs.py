"""Every copy of mirror/settings.py's knobs outside Python, generated.

Each copy is a block between BEGIN/END marker lines that only this module
writes (`python3 -m mirror.knobs --write`): bake's variables, the args and
secrets bake passes and its file-input list (docker-bake.hcl), the
Dockerfile's ARG lines, and the docs' two knob tables. Without --write it
only checks, and exits 1 naming each stale block; tests/unit/test_knobs.py
runs that check. `--list NAME` prints a list for shell scripts (scripts/build
reads the file inputs and secret files from it rather than keeping its own).

A block is found by its marker line wherever that line is among the block's
candidate files (the tables: README.md or any docs/*.md), so a table can
move between pages with its markers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

from mirror.settings import FIELDS, FILE_INPUTS, IMAGE_KNOBS, build_arg_of, flag_of

REPO = Path(__file__).resolve().parents[1]
SOURCE = "generated from mirror/settings.py"
COMMAND = "(python3 -m mirror.knobs --write)"
DOCS = ("README.md", "docs/*.md")


# --- what each block holds

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
                      flag_of(field)))
    return knobs


def bake_fields() -> list:
    return [f for f in FIELDS.values() if f.metadata["variable"]]


def _variables(entries) -> str:
    lines = []
    for variable, default, description in entries:
        lines += [f'variable "{variable}" {{', f"  default     = {json.dumps(default)}",
                  f"  description = {json.dumps(description)}", "}", ""]
    return "\n".join(lines).rstrip() + "\n"


def bake_block() -> str:
    return _variables((v, d, text) for v, d, text, _ in bake_knobs())


def bake_image_block() -> str:
    return _variables((k.variable, k.default, k.description) for k in IMAGE_KNOBS)


def _aligned(pairs, indent: str) -> str:
    width = max(len(name) for name, _ in pairs)
    return "".join(f"{indent}{name.ljust(width)} = {value}\n" for name, value in pairs)


def bake_args_block() -> str:
    """_common.args: the base images, then each build.py knob as the build arg the Dockerfile declares.

    A file input is a host path outside; inside the build it is its place under /inputs."""
    pairs = [(k.variable, k.variable) for k in IMAGE_KNOBS if k.build_arg]
    for field in bake_fields():
        variable = field.metadata["variable"]
        if field.name == "requirements":
            value = "requirements_inside()"
        elif field.metadata["file_input"]:
            value = f'inside("{field.name}", {variable})'
        else:
            value = variable
        pairs.append((build_arg_of(field), value))
    return _aligned(pairs, "    ")


def bake_secrets_block() -> str:
    return "".join(f'    {k.variable} == "" ? [] : ["id={k.secret},src=${{{k.variable}}}"],\n'
                   for k in IMAGE_KNOBS if k.secret)


def bake_inputs_block() -> str:
    """input_names(): every file input, in the order the `inputs` context stacks them; input_paths():
    the single-file ones (REQUIREMENTS is a tree: its own target) by name, with their host paths."""
    names = ", ".join(json.dumps(name) for name in FILE_INPUTS)
    single = [(name, FIELDS[name].metadata["variable"]) for name in FILE_INPUTS if name != "requirements"]
    return ('function "input_names" {\n  params = []\n'
            f"  result = [{names}]\n}}\n\n"
            'function "input_paths" {\n  params = []\n  result = {\n'
            f"{_aligned(single, '    ')}  }}\n}}\n")


def dockerfile_bases_block() -> str:
    """The base images, declared before the first FROM, each with its contract."""
    return "".join(f"# {k.variable}: {k.description}\nARG {k.variable}={k.default}\n"
                   for k in IMAGE_KNOBS if k.build_arg)


def dockerfile_plain_args_block() -> str:
    """Knobs bake passes under their own name (INDEX_URL: mirror/secrets.sh hands it on)."""
    return "".join(f"ARG {build_arg_of(f)}={f.default}\n" for f in bake_fields()
                   if f.metadata["build_arg"])


def dockerfile_args_block() -> str:
    names = [build_arg_of(f) for f in bake_fields() if not f.metadata["build_arg"]]
    return "ARG " + " \\\n    ".join(names) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "/")


def readme_block() -> str:
    rows = ["| bake variable | build.py option | default | what it does |", "|---|---|---|---|"]
    for variable, default, description, flag in bake_knobs():
        shown = f"`{default}`" if default else "(empty)"
        rows.append(f"| `{variable}` | `{flag}` | {shown} | {_cell(description)} |")
    return "\n".join(rows) + "\n"


def readme_image_block() -> str:
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    for k in IMAGE_KNOBS:
        shown = f"`{k.default}`" if k.default else "(empty)"
        text = k.description + (f"; {k.details}" if k.details else "")
        rows.append(f"| `{k.variable}` | {shown} | {_cell(text)} |")
    return "\n".join(rows) + "\n"


# --- where each block lives

@dataclasses.dataclass(frozen=True)
class Block:
    """label: the marker's name (empty for the first two blocks, whose markers predate the others);
    make: the block's text; places: the files (globs, from the repo) where its markers may be;
    comment: how a marker line is written there."""

    label: str
    make: Callable[[], str]
    places: tuple[str, ...]
    comment: str

    def begin(self) -> str:
        return self.comment.format(" ".join(filter(None, ("BEGIN", self.label, SOURCE, COMMAND))))

    def end(self) -> str:
        return self.comment.format(" ".join(filter(None, ("END", self.label, SOURCE))))


HCL, MD = "# {}", "<!-- {} -->"
BLOCKS = (
    Block("", bake_block, ("docker-bake.hcl",), HCL),
    Block("image knobs", bake_image_block, ("docker-bake.hcl",), HCL),
    Block("file inputs", bake_inputs_block, ("docker-bake.hcl",), HCL),
    Block("build args", bake_args_block, ("docker-bake.hcl",), HCL),
    Block("secrets", bake_secrets_block, ("docker-bake.hcl",), HCL),
    Block("base images", dockerfile_bases_block, ("Dockerfile",), HCL),
    Block("upstream arg", dockerfile_plain_args_block, ("Dockerfile",), HCL),
    Block("build args", dockerfile_args_block, ("Dockerfile",), HCL),
    Block("", readme_block, DOCS, MD),
    Block("image knobs", readme_image_block, DOCS, MD),
)


class MarkerError(Exception):
    """A begin marker without its end marker: the block cannot be spliced."""


def _marker_index(lines: list[str], marker: str, start: int = 0) -> int | None:
    return next((i for i in range(start, len(lines)) if lines[i].strip() == marker), None)


def splice(text: str, block: str, begin: str, end: str) -> str:
    """text with the lines between the begin and end marker lines replaced by block (mirror/tree/layers.py's too)."""
    head, rest = text.split(begin + "\n", 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{block}{end}{tail}"


def refresh(text: str, block: Block, name: str = "") -> str:
    """text with the block's lines (between its marker lines, which may be indented) made current."""
    lines = text.splitlines(keepends=True)
    begin = _marker_index(lines, block.begin())
    if begin is None:
        return text
    end = _marker_index(lines, block.end(), begin + 1)
    if end is None:
        raise MarkerError(f"{name}: {block.begin()!r} has no {block.end()!r} after it")
    return "".join(lines[:begin + 1]) + block.make() + "".join(lines[end:])


def homes(block: Block, root: Path = REPO) -> list[Path]:
    """The files among the block's places that hold its begin marker."""
    found = []
    for pattern in block.places:
        for path in sorted(root.glob(pattern)):
            lines = path.read_text(encoding="utf-8").splitlines()
            if _marker_index(lines, block.begin()) is not None:
                found.append(path)
    return found


def plan(root: Path = REPO) -> tuple[dict[Path, str], list[str]]:
    """(every file holding a block -> its text with every block current, problems: blocks without a home)."""
    texts: dict[Path, str] = {}
    problems = []
    for block in BLOCKS:
        places = homes(block, root)
        if not places:
            problems.append(f"no {block.begin()!r} in {' or '.join(block.places)}")
        for path in places:
            text = texts.get(path) or path.read_text(encoding="utf-8")
            texts[path] = refresh(text, block, str(path.relative_to(root)))
    return texts, problems


def stale(root: Path = REPO) -> list[str]:
    """One line per generated block that differs from what settings.py makes, or has no home."""
    texts, problems = plan(root)
    for path, want in texts.items():
        have = path.read_text(encoding="utf-8")
        if have == want:
            continue
        for block in BLOCKS:
            if path in homes(block, root) and refresh(have, block) != have:
                problems.append(f"{path.relative_to(root)}: {block.begin()}")
    return problems


def write(root: Path = REPO) -> tuple[list[Path], list[str]]:
    """(the files rewritten, the blocks that have no home): every block that has one is made current."""
    texts, problems = plan(root)
    changed = [p for p, want in texts.items() if p.read_text(encoding="utf-8") != want]
    for path in changed:
        path.write_text(texts[path], encoding="utf-8")
    return changed, problems


# --- lists for shell scripts

LISTS = {
    "file-inputs": lambda: [FIELDS[name].metadata["variable"] for name in FILE_INPUTS],
    "secret-files": lambda: [k.variable for k in IMAGE_KNOBS if k.secret],
}


def bake_default(variable: str) -> str:
    for name, default, _, _ in bake_knobs():
        if name == variable:
            return default
    for k in IMAGE_KNOBS:
        if k.variable == variable:
            return k.default
    raise KeyError(variable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m mirror.knobs", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the generated blocks in place")
    action.add_argument("--list", choices=sorted(LISTS), help="print these bake variables, one a line")
    action.add_argument("--default", metavar="VARIABLE", help="print this bake variable's default")
    args = parser.parse_args(argv)
    try:
        if args.list:
            print("\n".join(LISTS[args.list]()))
        elif args.default:
            print(bake_default(args.default))
        elif args.write:
            missing = write()[1]
            for line in missing:
                print(f"{parser.prog}: error: {line}: put the marker lines where the block belongs", file=sys.stderr)
            if missing:
                return 1
        elif problems := stale():
            for line in problems:
                print(f"out of step with mirror/settings.py: {line} (run python3 -m mirror.knobs --write)",
                      file=sys.stderr)
            return 1
    except KeyError as exc:
        print(f"{parser.prog}: error: no bake variable {exc}", file=sys.stderr)
        return 1
    except MarkerError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
