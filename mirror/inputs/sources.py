"""REQUIREMENTS -> input sets: what each named path asks the mirror for.

A path is a requirements file (with its -r / -c tree), a pyproject.toml, a
pylock.toml (PEP 751) or a uv.lock. Requirements files and pyproject.toml
resolve; a fully pinned and hashed requirements file, a pylock.toml and a
uv.lock are locks already and never resolve. Each set resolves on its own,
so two sets may pin different versions of one project.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import tempfile
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from mirror.core.uvtool import condense, find_uv
from mirror.core.uvtool import uv_env as make_env
from mirror.errors import InputError
from mirror.inputs.pylock import PyLock, read_pylock, read_toml
from mirror.inputs.reqfile import INSTEAD, Entry, read_tree
from mirror.inputs.targets import Target

REQUIREMENTS = "requirements"  # resolved by uv, hashes (if any) enforced
HASHED = "hashed-requirements"  # every line pinned and hashed: a lock
PYPROJECT = "pyproject"
PYLOCK = "pylock"
UV_LOCK = "uv.lock"
ALL = "all"


@dataclasses.dataclass(frozen=True)
class InputSet:
    name: str  # the set's name in the lock and in /locks/<name>/pylock.toml
    path: Path
    kind: str
    requires_python: str | None = None
    index_urls: tuple[str, ...] = ()  # from --index-url / --extra-index-url lines, in file order
    hashes: dict[NormalizedName, frozenset[str]] = dataclasses.field(default_factory=dict)
    entries: tuple[Entry, ...] = ()  # a hashed requirements file's pins
    lock: PyLock | None = None  # a pylock.toml's or uv.lock's packages
    compile_args: tuple[str, ...] = ()  # what uv pip compile needs besides the path (extras, groups)
    extras: frozenset[str] = frozenset()  # chosen, for a pylock's `'x' in extras` markers
    groups: frozenset[str] = frozenset()
    known_extras: frozenset[str] = frozenset()  # what the file defines, to check EXTRAS / GROUPS against
    known_groups: frozenset[str] = frozenset()

    @property
    def resolves(self) -> bool:
        return self.kind in (REQUIREMENTS, PYPROJECT)

    def excludes(self, target: Target) -> str | None:
        """Why this set is not for the target (its requires-python, a lock's environments), or None."""
        if self.requires_python and not SpecifierSet(self.requires_python).contains(
                f"{target.python}.0", prereleases=True):
            return f"requires-python {self.requires_python} excludes Python {target.python}"
        if self.lock and self.lock.environments and not any(
                Marker(m).evaluate(target.environment()) for m in self.lock.environments):
            return "the lock's environments exclude it"
        return None

    def environment(self, target: Target) -> dict:
        """The target's marker values, plus this set's extras and groups (PEP 751 lock markers)."""
        return {**target.environment(), "extras": set(self.extras), "dependency_groups": set(self.groups)}


def split_paths(value: str | Path | list | tuple) -> list[Path]:
    if isinstance(value, (list, tuple)):
        return [Path(v) for v in value]
    return [Path(v) for v in str(value).split()]


def read_sets(paths: list[Path], *, extras: str = "", groups: str = "", uv: str | None = None,
              uv_env: dict | None = None) -> list[InputSet]:
    if not paths:
        raise InputError("no requirements given (REQUIREMENTS / --requirements)")
    wanted_extras, wanted_groups = _names(extras), _names(groups)
    sets = []
    for path, name in zip(paths, _set_names(paths)):
        if not path.is_file():
            raise InputError(f"requirements file not found: {path}")
        sets.append(_read_set(path, name, wanted_extras, wanted_groups, uv, uv_env))
    _check_wanted(sets, wanted_extras, wanted_groups, extras, groups)
    return sets


def _read_set(path: Path, name: str, wanted_extras, wanted_groups, uv, uv_env) -> InputSet:
    kind = _kind(path)
    try:
        if kind == PYPROJECT:
            return _pyproject(path, name, wanted_extras, wanted_groups)
        if kind == PYLOCK:
            return _pylock_set(path, name, read_pylock(path), wanted_extras, wanted_groups)
        if kind == UV_LOCK:
            return _uv_lock(path, name, wanted_extras, wanted_groups, uv, uv_env)
        return _requirements(path, name)
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        # A table where a list belongs, a number where a string does: the file's shape, in one line.
        raise InputError(f"{path} is malformed ({exc!r})"[:300]) from None


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name == "pyproject.toml":
        return PYPROJECT
    if name == "uv.lock":
        return UV_LOCK
    if re.fullmatch(r"pylock(\.[^./]+)?\.toml", name):
        return PYLOCK
    return REQUIREMENTS


def _set_names(paths: list[Path]) -> list[str]:
    """The file's stem (`team-a.txt` -> `team-a`), or its folder's name for pyproject/lock files;
    where two sets would share a name, the folder's name goes in front."""

    def base(path: Path, with_parent: bool) -> str:
        kind = _kind(path)
        stem = path.stem if kind == REQUIREMENTS else ""
        if kind in (PYPROJECT, UV_LOCK) and not with_parent:
            stem = _project_name(path) or ""
        if _kind(path) == PYLOCK and path.name.lower() != "pylock.toml":
            stem = path.name[len("pylock."):-len(".toml")]
        parent = path.resolve().parent.name
        parts = [parent, stem] if (with_parent or not stem) else [stem]
        return re.sub(r"[^a-z0-9._-]+", "-", "-".join(p for p in parts if p).lower()).strip("-.") or "default"

    names = [base(p, False) for p in paths]
    names = [base(p, True) if names.count(n) > 1 else n for p, n in zip(paths, names)]
    for n in names:
        if names.count(n) > 1:
            duplicates = " ".join(str(p) for p, m in zip(paths, names) if m == n)
            raise InputError(f"requirement sets {duplicates} would share the name {n!r}: rename one file")
    return names


def _project_name(path: Path) -> str | None:
    """[project] name of a pyproject.toml (or of the one beside a uv.lock): the folder's name may be
    anything once the file is inside a build."""
    project = path if path.name.lower() == "pyproject.toml" else path.parent / "pyproject.toml"
    if not project.is_file():
        return None
    table = read_toml(project, "pyproject file").get("project")
    name = table.get("name") if isinstance(table, dict) else None
    return canonicalize_name(name) if isinstance(name, str) else None


def _names(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in re.split(r"[\s,]+", value.strip()) if v))


def _check_wanted(sets, wanted_extras, wanted_groups, extras: str, groups: str) -> None:
    takes = [s for s in sets if s.kind in (PYPROJECT, UV_LOCK, PYLOCK)]
    for kind, wanted, attribute in (("extra", wanted_extras, "extras"), ("group", wanted_groups, "groups")):
        if not wanted:
            continue
        if not takes:
            raise InputError(f"{kind}s {' '.join(wanted)} given (EXTRAS/GROUPS), but no pyproject.toml, "
                             "uv.lock or pylock.toml among the requirements")
        if ALL in wanted:
            continue
        known = set().union(*(getattr(s, f"known_{attribute}") for s in takes))
        missing = [w for w in wanted if w not in known]
        if missing:
            raise InputError(f"{kind} {', '.join(missing)} is defined by none of "
                             f"{' '.join(str(s.path) for s in takes)}")


def _requirements(path: Path, name: str) -> InputSet:
    tree = read_tree(path)
    if not tree.requirements:
        raise InputError(f"{path} names no packages")
    urls = tuple(dict.fromkeys([*tree.extra_index_urls, *([tree.index_url] if tree.index_url else [])]))
    if tree.is_lock:
        return InputSet(name, path, HASHED, index_urls=urls, hashes=tree.hashes(), entries=tree.requirements)
    return InputSet(name, path, REQUIREMENTS, index_urls=urls, hashes=tree.hashes())


def _check_requirements(path: Path, where: str, texts) -> None:
    for text in texts:
        try:
            requirement = Requirement(text)
        except (InvalidRequirement, TypeError) as exc:
            raise InputError(f"{path}: {where}: {text!r} is not a requirement ({exc})") from None
        if requirement.url:
            raise InputError(f"{path}: {where}: {text}: direct URL, VCS and local path requirements "
                             f"cannot be mirrored; {INSTEAD}")


def _group_names(path: Path, groups: dict) -> set[str]:
    for group, members in groups.items():
        _check_requirements(path, f"[dependency-groups] {group}",
                            [m for m in members if not isinstance(m, dict)])
    return set(groups)


def _pyproject(path: Path, name: str, extras: tuple[str, ...], groups: tuple[str, ...]) -> InputSet:
    document = read_toml(path, "pyproject file")
    project = document.get("project")
    if not isinstance(project, dict):
        raise InputError(f"{path} has no [project] table: there is nothing to resolve")
    if "dependencies" in (project.get("dynamic") or []):
        raise InputError(f"{path}: [project] dependencies are dynamic; "
                         "give a requirements file or a lock for this project instead")
    _check_requirements(path, "[project] dependencies", project.get("dependencies") or [])
    optional = project.get("optional-dependencies") or {}
    for extra, texts in optional.items():
        _check_requirements(path, f"[project.optional-dependencies] {extra}", texts)
    known_groups = _group_names(path, document.get("dependency-groups") or {})
    known_extras = {canonicalize_name(e) for e in optional}
    chosen_extras = known_extras if ALL in extras else {canonicalize_name(e) for e in extras} & known_extras
    chosen_groups = known_groups if ALL in groups else set(groups) & known_groups
    # uv, not this code, expands extras and include-group; --no-sources: [tool.uv.sources]
    # may point at paths or git, the mirror takes the index release.
    args = [*(a for e in sorted(chosen_extras) for a in ("--extra", e)),
            *(a for g in sorted(chosen_groups) for a in ("--group", g)), "--no-sources"]
    requires_python = project.get("requires-python")
    _check_specifier(path, requires_python)
    return InputSet(name, path, PYPROJECT, requires_python=requires_python, compile_args=tuple(args),
                    extras=frozenset(chosen_extras), groups=frozenset(chosen_groups),
                    known_extras=frozenset(known_extras), known_groups=frozenset(known_groups))


def _check_specifier(path: Path, value: str | None) -> None:
    if value:
        try:
            SpecifierSet(value)
        except InvalidSpecifier:
            raise InputError(f"{path}: requires-python {value!r} is not a version specifier") from None


def _pylock_set(path: Path, name: str, lock: PyLock, extras, groups, kind: str = PYLOCK) -> InputSet:
    _check_specifier(path, lock.requires_python)
    chosen_extras = set(lock.extras) if ALL in extras else set(extras)
    chosen_groups = set(lock.groups) if ALL in groups else (set(groups) or set(lock.default_groups))
    return InputSet(name, path, kind, requires_python=lock.requires_python, lock=lock,
                    extras=frozenset(chosen_extras), groups=frozenset(chosen_groups),
                    known_extras=frozenset(lock.extras), known_groups=frozenset(lock.groups))


def _uv_lock(path: Path, name: str, extras, groups, uv: str | None, uv_env: dict | None) -> InputSet:
    """uv converts its own lock (extras, groups, workspace members) into a pylock.toml."""
    project = path.parent / "pyproject.toml"
    if not project.is_file():
        raise InputError(f"{path}: uv reads a uv.lock together with its pyproject.toml, "
                         f"and there is none at {project}")
    document = read_toml(project, "pyproject file")
    known_groups = set(document.get("dependency-groups") or {})
    known_extras = {canonicalize_name(e) for e in (document.get("project") or {}).get("optional-dependencies") or {}}
    args = ["--all-extras"] if ALL in extras else [a for e in extras if canonicalize_name(e) in known_extras
                                                   for a in ("--extra", e)]
    args += ["--all-groups"] if ALL in groups else [a for g in groups if g in known_groups for a in ("--group", g)]
    if uv is None:
        uv, uv_env = find_uv(), make_env(None, None)
    with tempfile.TemporaryDirectory(prefix="pypi-mirror-uvlock-") as work:
        output = Path(work) / "pylock.toml"
        # --no-build: exporting a lock never runs a workspace member's (or any sdist's) build backend.
        command = [uv, "export", "--frozen", "--no-build", "--format", "pylock.toml", "--all-packages",
                   "--no-emit-workspace",
                   "--no-config", "--project", str(path.parent), "--output-file", str(output), "--quiet",
                   "--color", "never", *args]
        result = subprocess.run(command, env=uv_env, capture_output=True, text=True)
        if result.returncode != 0:
            raise InputError(f"{path}: uv cannot export it: {condense(result.stderr)}")
        lock = read_pylock(output, source=path)
    # The export already applied extras and groups: its markers need none.
    return InputSet(name, path, UV_LOCK, requires_python=lock.requires_python, lock=lock,
                    known_extras=frozenset(known_extras), known_groups=frozenset(known_groups))
