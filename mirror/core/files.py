"""Writing into the tree: whole files only, world-readable, never half-written."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from mirror.errors import InputError


def escapes(path: Path, folder: Path) -> bool:
    """Whether path, every symlink followed, lies outside folder (itself resolved)."""
    return not path.resolve().is_relative_to(folder.resolve())


def write_atomic(path: Path, data: bytes) -> None:
    _place(path, lambda out: out.write(data))


def copy_atomic(source: Path, path: Path) -> None:
    def copy(out):
        with source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)

    _place(path, copy)


def gzip_bytes(data: bytes) -> bytes:
    # No name and mtime 0 in the header: the same page gives the same bytes.
    return gzip.compress(data, compresslevel=9, mtime=0)


def read_json_object(path: Path, what: str) -> dict:
    """A JSON object from a file given to the build, or InputError naming `what` and the path."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{what} {path} is not JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} {path} nests deeper than this build reads") from None
    if not isinstance(document, dict):
        raise InputError(f"{what} {path} is not a JSON object")
    return document


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _place(path: Path, fill) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
        os.chmod(temp, 0o644)  # mkstemp makes 0600; the server runs as another user
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
