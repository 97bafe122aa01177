"""The finished tree -> image layers that stay the same when unrelated projects change.

An image layer is one COPY, and the Dockerfile's COPY lines are fixed (they
are generated from ORDER below), so the tree goes into a fixed set of layer
slots. What a one-project change costs is what registries and delta
bundles must ship: every layer whose content is new (they skip a blob they
have by its digest). The plan (assign()):

    o00 .. o17   one project each: every project whose files reach OWN_BYTES
                 (4 MB), in name order; the rest of these slots stay empty
    p00 .. p09   the other projects in buckets by a hash of the name; a
                 bucket over BUCKET_CAP (8 MB) hands its largest projects,
                 one by one, a slot of their own until it fits
    simple       the index pages: change when any project does (small)
    osv          the vulnerability data: changes with the advisory export
    docs         index.html, mirror.json, lock.json, audit.json, ...: every build

A project's files, their .metadata and .provenance always share a layer. Adding,
removing or upgrading one project P changes P's own layer, or P's bucket
and the own layers of that bucket's projects that gain or lose one: at most
P's own bytes + 2 x BUCKET_CAP (the bucket after the change, and what it
handed out), plus the index pages, documents and nginx's project map
(REMAINDER_BOUND; tests/unit/test_layers.py proves it over the plan). Every
other layer keeps its content: which layer a project gets depends only on
its own size and name, and on the bucket it hashes to. The bound holds
while at most OWN_SLOTS projects need a slot of their own (the data-science
set of bench/ needs 14); beyond that the largest keep theirs and the others
go back to their buckets (the build log says so).

Layer budget (overlayfs stacks at most 127): 31 tree layers, 2 of the
appliance's own (nginx config and hooks, the project map), leaving 94 for
the runtime base image (the official nginx image has 7). Few layers keep
the build fast: each COPY costs a fixed ~0.2 s here (BENCHMARKS.md, layers).

The Dockerfile's COPY lines for these are generated from this module
(`python3 -m mirror.tree.layers --write`); tests/unit/test_layers.py keeps them in step.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from packaging.utils import canonicalize_name

from mirror.core.stamp import NO_TIME  # a file with no time of its own
from mirror.errors import InputError
from mirror.knobs import REPO, splice
from mirror.tree.manifest import parse_time

MB = 1_000_000
OWN_BYTES = 4 * MB      # a project this large gets a layer of its own
BUCKET_CAP = 8 * MB     # a bucket larger than this hands out its largest projects
OWN_SLOTS = 18
BUCKETS = 10
# What a one-project change ships beyond the project's own files, from the
# package layers (the index pages, documents and project map come on top).
REMAINDER_BOUND = 2 * BUCKET_CAP
PACKAGES = "packages"
OWN_LAYERS = {"simple": "simple", "osv": "osv"}  # top-level entry -> layer; everything else: docs
OWN = [f"o{i:02d}" for i in range(OWN_SLOTS)]
ORDER = OWN + [f"p{i:02d}" for i in range(BUCKETS)] + ["simple", "osv", "docs"]

log = logging.getLogger(__name__)


def bucket(project: str) -> str:
    """The bucket a project hashes to (its layer unless it needs one of its own)."""
    digest = hashlib.sha256(canonicalize_name(project).encode()).digest()
    return f"p{int.from_bytes(digest[:4], 'big') % BUCKETS:02d}"


# What packages/ holds beside a file, named after it: its PEP 658 metadata and its PEP 740 provenance.
COMPANIONS = (".metadata", ".provenance")


def of_file(name: str) -> str:
    """The distribution a packages/ entry belongs to: a companion goes into its file's layer."""
    for suffix in COMPANIONS:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def assign(sizes: Mapping[str, int]) -> dict[str, str]:
    """Project (canonical name) -> layer, from each project's bytes (files and their companions).

    Deterministic and local: a project's layer depends on its own size and
    name and on the other projects of its bucket, nothing else (while the
    own slots suffice).
    """
    sizes = {canonicalize_name(name): size for name, size in sizes.items()}
    own = {name for name, size in sizes.items() if size >= OWN_BYTES}
    members: dict[str, list[str]] = {}
    for name in sizes:
        if name not in own:
            members.setdefault(bucket(name), []).append(name)
    for names in members.values():
        # Largest first (ties by name), out until the rest fits.
        names.sort(key=lambda n: (-sizes[n], n))
        total = sum(sizes[n] for n in names)
        while total > BUCKET_CAP:
            total -= sizes[names[0]]
            own.add(names.pop(0))
    if len(own) > OWN_SLOTS:
        keep = set(sorted(own, key=lambda n: (-sizes[n], n))[:OWN_SLOTS])
        log.warning("%d projects need a layer of their own, %d slots: %s share their buckets, so a change "
                    "to one of them ships its bucket", len(own), OWN_SLOTS, " ".join(sorted(own - keep)))
        own = keep
    layers = {name: bucket(name) for name in sizes}
    layers.update(zip(sorted(own), OWN))
    return layers


def shipped(before: Mapping[str, int], after: Mapping[str, int], changed: str | None = None) -> int:
    """Bytes of the package layers of the after-plan whose content the before-plan lacks.

    A layer's content is the set of projects in it; `changed` names a project
    whose files differ (an upgrade), so every layer holding it is new.
    """
    def contents(sizes: Mapping[str, int]) -> dict[str, frozenset[str]]:
        grouped: dict[str, set[str]] = {}
        for name, layer in assign(sizes).items():
            grouped.setdefault(layer, set()).add(name)
        return {layer: frozenset(names) for layer, names in grouped.items()}

    changed = canonicalize_name(changed) if changed else None
    old = set(contents(before).values())
    sizes = {canonicalize_name(name): size for name, size in after.items()}
    return sum(sum(sizes[n] for n in names) for names in contents(after).values()
               if names not in old or changed in names)


def project_bytes(tree: Path) -> dict[str, int]:
    """Each project's bytes in the tree's packages/ (its files and their companions)."""
    owner = _owners(tree)
    sizes: dict[str, int] = {}
    for path in sorted((tree / PACKAGES).iterdir()):
        name = owner.get(of_file(path.name))
        if name is None:
            raise InputError(f"{path}: not a file of the lock")
        sizes[name] = sizes.get(name, 0) + path.stat().st_size
    return sizes


def plan(tree: Path) -> dict[Path, str]:
    """Each top-level entry of the tree, or each file of packages/, -> the layer it goes to."""
    owner = _owners(tree)
    project_layer = assign(project_bytes(tree)) if (tree / PACKAGES).is_dir() else {}
    layers: dict[Path, str] = {}
    for entry in sorted(tree.iterdir()):
        if entry.name != PACKAGES:
            layers[entry] = OWN_LAYERS.get(entry.name, "docs")
            continue
        for path in sorted(entry.iterdir()):
            layers[path] = project_layer[canonicalize_name(owner[of_file(path.name)])]
    return layers


def _owners(tree: Path) -> dict[str, str]:
    lock = json.loads((tree / "lock.json").read_text(encoding="utf-8"))
    return {f["filename"]: f["name"] for f in lock["files"]}


# Where the tree sits in both images. Each layer folder holds this whole path,
# so a COPY to / brings its folders with their own (fixed) times: BuildKit
# gives the folders it makes for a COPY destination the wall-clock time.
TREE_IN_IMAGE = Path("srv/pypi")


def split(tree: Path, out: Path) -> None:
    """Hard-link the tree into out/<layer>/srv/pypi/ (every layer folder exists, even when empty),
    with file times that depend only on what a layer holds (see times())."""
    for layer in ORDER:
        (out / layer / TREE_IN_IMAGE).mkdir(parents=True, exist_ok=True)
    for source, layer in plan(tree).items():
        target = out / layer / TREE_IN_IMAGE / source.relative_to(tree)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            _link_tree(source, target)
        else:
            os.link(source, target)
    file_times, layer_time, data_time = times(tree)
    for layer in ORDER:
        for folder, dirs, files in os.walk(out / layer):
            for name in files:
                path = Path(folder) / name
                default = NO_TIME if layer.startswith("p") else data_time if layer == "osv" else layer_time
                stamp = file_times.get(of_file(name), default)
                os.utime(path, (stamp, stamp), follow_symlinks=False)
        for folder, _, _ in os.walk(out / layer, topdown=False):
            os.utime(folder, (0, 0))


def times(tree: Path) -> tuple[dict[str, int], int, int]:
    """(upload time of each mirrored file, the tree's build time, the advisory export's time), in seconds.

    BuildKit clamps every file time to the images' epoch (the tree's build
    time), which changes with every new upload: a package layer whose times
    followed it would change with every refresh. A package keeps its upload
    time (older than any epoch that includes it); folders get 0; the index
    pages and documents get the build time, so their Last-Modified and ETag
    change when their content can; the vulnerability data gets the export's
    time (osv/meta.json: when it was taken, else its newest record, else NO_TIME),
    so a new lock leaves its layer alone and a new export changes it.
    """
    lock = json.loads((tree / "lock.json").read_text(encoding="utf-8"))
    manifest = json.loads((tree / "mirror.json").read_text(encoding="utf-8"))
    uploads = {f["filename"]: _seconds(f.get("upload-time")) for f in lock["files"]}
    meta_path = tree / "osv" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    data_time = _seconds(meta.get("taken-at")) or _seconds(meta.get("newest-modified")) or NO_TIME
    return ({k: v for k, v in uploads.items() if v is not None}, _seconds(manifest.get("build-time")) or NO_TIME,
            data_time)


def _seconds(text: str | None) -> int | None:
    moment = parse_time(text) if text else None
    return int(moment.timestamp()) if moment else None


def _link_tree(source: Path, target: Path) -> None:
    for folder, _, files in os.walk(source):
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            os.link(Path(folder) / name, here / name)


def dockerfile_block() -> str:
    return "".join(f"COPY --from=builder /out/layers/{layer}/ /\n" for layer in ORDER)


BEGIN = "BEGIN layers generated from mirror/tree/layers.py (python3 -m mirror.tree.layers --write)"
END = "END layers generated from mirror/tree/layers.py"
DOCKERFILE = REPO / "Dockerfile"


def expected_dockerfile() -> str:
    text = DOCKERFILE.read_text(encoding="utf-8")
    parts = text.split(f"# {BEGIN}\n")
    rebuilt = parts[0]
    for part in parts[1:]:
        rebuilt += splice(f"# {BEGIN}\n" + part, dockerfile_block(), f"# {BEGIN}", f"# {END}")
    return rebuilt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m mirror.tree.layers", description=__doc__.splitlines()[0])
    parser.add_argument("tree", nargs="?", type=Path, help="the finished tree (split it into OUT)")
    parser.add_argument("out", nargs="?", type=Path, help="folder for one subfolder per layer")
    parser.add_argument("--write", action="store_true", help="rewrite the Dockerfile's generated COPY lines")
    args = parser.parse_args(argv)
    if args.write:
        DOCKERFILE.write_text(expected_dockerfile(), encoding="utf-8")
        return 0
    if not (args.tree and args.out):
        parser.error("give TREE and OUT, or --write")
    try:
        split(args.tree, args.out)
    except (InputError, OSError) as exc:
        print(f"pypi-mirror: error: layers: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
