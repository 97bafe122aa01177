"""The finished tree -> image layers that stay the same when unrelated projects change.

An image layer is one COPY. A single COPY of the whole tree makes a refresh
that upgrades one project re-ship every byte; one COPY per file would pass
overlayfs's layer limit (127). So the packages go into a fixed number of
buckets by a hash of the project name (a project's files and their .metadata
always share a bucket), and the rest into three layers that change for
their own reasons, in this order:

    p00 .. p47   packages/ by project: change when that project does
    simple       the index pages: change when any project does (small)
    osv          the vulnerability data: changes with the advisory export
    docs         index.html, mirror.json, lock.json, audit.json, ...: every build

The Dockerfile's COPY lines for these are generated from this module
(`python3 -m mirror.layers --write`); tests/unit/test_layers.py keeps them in step.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

from mirror.errors import InputError
from mirror.knobs import REPO, splice
from mirror.manifest import parse_time
from mirror.stamp import NO_TIME  # a file with no time of its own

BUCKETS = 48
PACKAGES = "packages"
OWN_LAYERS = {"simple": "simple", "osv": "osv"}  # top-level entry -> layer; everything else: docs
ORDER = [f"p{i:02d}" for i in range(BUCKETS)] + ["simple", "osv", "docs"]


def bucket(project: str) -> str:
    digest = hashlib.sha256(canonicalize_name(project).encode()).digest()
    return f"p{int.from_bytes(digest[:4], 'big') % BUCKETS:02d}"


def plan(tree: Path) -> dict[Path, str]:
    """Each top-level entry of the tree, or each file of packages/, -> the layer it goes to."""
    lock = json.loads((tree / "lock.json").read_text(encoding="utf-8"))
    owner = {f["filename"]: f["name"] for f in lock["files"]}
    layers: dict[Path, str] = {}
    for entry in sorted(tree.iterdir()):
        if entry.name != PACKAGES:
            layers[entry] = OWN_LAYERS.get(entry.name, "docs")
            continue
        for path in sorted(entry.iterdir()):
            filename = path.name.removesuffix(".metadata")
            if filename not in owner:
                raise InputError(f"{path}: not a file of the lock")
            layers[path] = bucket(owner[filename])
    return layers


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
                stamp = file_times.get(name.removesuffix(".metadata"), default)
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


BEGIN = "BEGIN layers generated from mirror/layers.py (python3 -m mirror.layers --write)"
END = "END layers generated from mirror/layers.py"
DOCKERFILE = REPO / "Dockerfile"


def expected_dockerfile() -> str:
    text = DOCKERFILE.read_text(encoding="utf-8")
    parts = text.split(f"# {BEGIN}\n")
    rebuilt = parts[0]
    for part in parts[1:]:
        rebuilt += splice(f"# {BEGIN}\n" + part, dockerfile_block(), f"# {BEGIN}", f"# {END}")
    return rebuilt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m mirror.layers", description=__doc__.splitlines()[0])
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
