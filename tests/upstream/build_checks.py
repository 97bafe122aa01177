"""What the tests check in a tree a build wrote, or must not have left behind."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file under root, by relative path, to its sha256."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def leftovers(tmp_path: Path) -> list[str]:
    """Half-written things a failed build must not leave: staging folders and .part files."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                  if p.name.endswith(".partial") or p.name.endswith(".part"))
