"""A requirements file and its -r / -c tree -> the entries a mirror needs to know.

uv resolves these files itself (it follows -r and -c); this reader exists for
what uv does not tell: which line is a direct URL, VCS, path or editable
requirement (each one error naming file and line), which index options the
files carry, which hashes the user wrote, and whether every requirement is
pinned and hashed, in which case the tree already is a lock.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from mirror.core.files import escapes
from mirror.errors import InputError

# pip's own rule: a comment starts at "#" at the start or after whitespace.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_URL_OR_PATH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|file:|git\+|hg\+|svn\+|bzr\+|\.{1,2}[/\\]|[/\\~]|[A-Za-z]:[/\\])")
_ARCHIVE = re.compile(r"\.(?:whl|tar\.gz|tgz|tar\.bz2|tar\.xz|zip)$", re.IGNORECASE)
_HASH = re.compile(r"^(sha256):([0-9a-fA-F]{64})$")

INSTEAD = ("mirror only takes releases from an index: pin it as name==version "
           "(publish it to an index first if it is not on one)")

# Options that change nothing for a mirror: how an installer picks, not what exists.
_IGNORED = {"--pre", "--prefer-binary", "--only-binary", "--no-binary", "--trusted-host",
            "--require-hashes", "--use-feature", "--no-deps"}
_TAKES_VALUE = {"--only-binary", "--no-binary", "--trusted-host", "--use-feature"}


class RequirementLineError(InputError):
    """One line of a requirements file the mirror cannot use."""

    def __init__(self, path: Path, line: int, text: str, reason: str):
        self.path, self.line, self.text, self.reason = path, line, text, reason

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class Entry:
    """One requirement line, where it came from, and the hashes written after it."""

    requirement: Requirement
    hashes: frozenset[str]  # sha256 hex digests, lowercase
    constraint: bool
    path: Path
    line: int

    @property
    def name(self) -> NormalizedName:
        return canonicalize_name(self.requirement.name)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def pinned_version(self) -> str | None:
        """The version of an `==` / `===` pin without wildcards, else None."""
        specs = list(self.requirement.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
            return specs[0].version
        return None


@dataclasses.dataclass(frozen=True)
class RequirementsTree:
    root: Path
    entries: tuple[Entry, ...]
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()

    @property
    def requirements(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if not e.constraint)

    @property
    def is_lock(self) -> bool:
        """Every requirement `==`-pinned with at least one hash: a lock, no resolving needed."""
        reqs = self.requirements
        return bool(reqs) and all(e.pinned_version and e.hashes for e in reqs)

    def hashes(self) -> dict[NormalizedName, frozenset[str]]:
        """Every name the user hashed (requirements and constraints), with all its hashes."""
        found: dict[NormalizedName, set[str]] = {}
        for e in self.entries:
            if e.hashes:
                found.setdefault(e.name, set()).update(e.hashes)
        return {name: frozenset(h) for name, h in found.items()}


def read_tree(root: Path) -> RequirementsTree:
    """The tree of `root`: its -r / -c includes stay inside root's folder, symlinks followed
    (`-r /run/secrets/netrc`, `-r ../x`, a link to elsewhere: one error naming the including line,
    and the file outside is never read)."""
    entries: list[Entry] = []
    indexes: dict[str, list[str]] = {"index": [], "extra": []}
    folder = root.parent
    if escapes(root, folder):
        raise InputError(f"{root} is a symlink to {root.resolve()}, outside its folder {folder.resolve()}: "
                         "a requirement set's files stay inside the folder it came from")
    _read(root, False, entries, indexes, seen=set(), folder=folder)
    return RequirementsTree(root, tuple(entries), indexes["index"][0] if indexes["index"] else None,
                            tuple(dict.fromkeys(indexes["extra"])))


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, text) per logical line: comments dropped, `\\` continuations joined."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.sub("", raw)
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append((start, line))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def _read(path: Path, constraint: bool, entries: list[Entry], indexes: dict, seen: set[Path], *,
          folder: Path) -> None:
    resolved = path.resolve()
    if resolved in seen:
        return  # pip and uv read an included file once, too
    seen.add(resolved)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read requirements file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"requirements file {path} is not UTF-8 text") from None
    for number, line in logical_lines(text):
        if line.startswith("-"):
            _option(path, number, line, constraint, entries, indexes, seen, folder)
        else:
            entries.append(_requirement(path, number, line, constraint))


def _option(path: Path, number: int, line: str, constraint: bool, entries: list[Entry], indexes: dict,
            seen: set[Path], folder: Path) -> None:
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise RequirementLineError(path, number, line, f"cannot be split into words ({exc})") from None
    option, value = words[0], " ".join(words[1:]) or None
    for short, long in (("-r", "--requirement"), ("-c", "--constraint"), ("-i", "--index-url"),
                        ("-e", "--editable"), ("-f", "--find-links")):
        if option.startswith(short) and option != short and not option.startswith("--"):
            option, value = long, option[len(short):]  # "-rbase.txt"
        elif option == short:
            option = long
    if "=" in option:
        option, value = option.split("=", 1)
    if option in ("--requirement", "--constraint"):
        if not value:
            raise RequirementLineError(path, number, line, f"{option} needs a file")
        if _URL_OR_PATH.match(value) and "://" in value:
            raise RequirementLineError(path, number, line, "included files must be local paths, relative to this file")
        included = path.parent / value
        # Before anything reads it: a file outside the set's folder may be a secret, and a parse
        # error would print its first line.
        if escapes(included, folder):
            raise RequirementLineError(path, number, line, f"includes {included.resolve()}, outside "
                                       f"{folder.resolve()}: includes (and their symlinks) stay inside the "
                                       "folder the requirement set came from")
        if not included.is_file():
            raise RequirementLineError(path, number, line, f"{included} not found")
        _read(included, constraint or option == "--constraint", entries, indexes, seen, folder=folder)
    elif option in ("--index-url", "--extra-index-url"):
        if not value:
            raise RequirementLineError(path, number, line, f"{option} needs a URL")
        indexes["index" if option == "--index-url" else "extra"].append(value)
    elif option == "--editable":
        raise RequirementLineError(path, number, line, f"editable requirements cannot be mirrored; {INSTEAD}")
    elif option in ("--find-links", "--no-index"):
        raise RequirementLineError(path, number, line,
                                   "a mirror resolves against indexes only: use --extra-index-url for another index")
    elif option in _IGNORED:
        pass
    else:
        raise RequirementLineError(path, number, line, f"unknown option {option}")


def _requirement(path: Path, number: int, line: str, constraint: bool) -> Entry:
    # pip's split: the requirement runs up to the first word that starts with "-".
    words = line.split()
    first_option = next((i for i, w in enumerate(words) if w.startswith("-") and i > 0), len(words))
    text, options = " ".join(words[:first_option]), words[first_option:]
    if _URL_OR_PATH.match(text) or _ARCHIVE.search(text.split(";")[0].strip()):
        raise RequirementLineError(path, number, text, f"direct URL, VCS and local path requirements cannot "
                                   f"be mirrored; {INSTEAD}")
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise RequirementLineError(path, number, text, f"not a requirement ({exc})") from None
    if requirement.url:
        raise RequirementLineError(path, number, text, f"direct URL, VCS and local path requirements cannot "
                                   f"be mirrored; {INSTEAD}")
    hashes = set()
    values = iter(options)
    for option in values:
        value = None
        if option.startswith("--hash="):
            value = option.removeprefix("--hash=")
        elif option == "--hash":
            value = next(values, "")
        elif option in _TAKES_VALUE:
            next(values, None)
            continue
        else:
            raise RequirementLineError(path, number, text, f"unknown option {option} after a requirement")
        match = _HASH.match(value)
        if not match:
            raise RequirementLineError(path, number, text,
                                       f"hash {value!r}: only sha256:<64 hex digits> can be checked against the index")
        hashes.add(match.group(2).lower())
    return Entry(requirement, frozenset(hashes), constraint, path, number)


def applies(entry: Entry, environment: dict[str, str]) -> bool:
    marker: Marker | None = entry.requirement.marker
    return marker is None or marker.evaluate(environment)
