"""Give every file and folder under each ROOT one fixed time and a mode that follows from its content.

With Docker's own image exporter a COPY keeps each file's time (a clone's
checkout time) and the folders a step makes get the wall clock, and
`rewrite-timestamp` does not reach them. The Dockerfile assembles the
appliance's own files (nginx config, the entry point, its hooks, the
project map) in a folder, runs this over it, and COPYs the folder to / in
one step: the layer then holds nothing that depends on when or where it was
built. Modes are normalised too (a clone's umask decides them otherwise):
folders and executables 0755, other files 0644.

Standard library only: the Dockerfile runs it as a plain script
(`python3 stamp.py ROOT...`) in a stage that has no mirror/ package.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# 1970-01-01T00:00:01Z. Not 0: BuildKit's COPY takes a file time of 0 for
# "unset" and gives it the image's epoch.
NO_TIME = 1


def stamp(root: Path, when: int = NO_TIME) -> None:
    """Every entry under root, and root itself: the time `when`, a content-derived mode."""
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in dirs + files:
            _fix(Path(folder) / name, when)
    _fix(Path(root), when)


def _fix(path: Path, when: int) -> None:
    status = path.lstat()
    if not path.is_symlink():
        if path.is_dir() or status.st_mode & 0o111:
            path.chmod(0o755)
        else:
            path.chmod(0o644)
    os.utime(path, (when, when), follow_symlinks=False)


def main(argv: list[str] | None = None) -> int:
    roots = sys.argv[1:] if argv is None else argv
    if not roots:
        print("usage: python3 stamp.py ROOT...", file=sys.stderr)
        return 2
    for root in roots:
        if not os.path.isdir(root):
            print(f"pypi-mirror: error: stamp: not a folder: {root}", file=sys.stderr)
            return 1
        stamp(Path(root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
