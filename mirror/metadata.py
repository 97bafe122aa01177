"""A wheel's core metadata, byte for byte, for its PEP 658 `.metadata` file."""

from __future__ import annotations

import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from mirror.errors import DistributionError


def wheel_metadata(path: Path) -> bytes:
    """The bytes of the wheel's `<name>-<version>.dist-info/METADATA`.

    Installers check these bytes against the wheel, so nothing is parsed or
    rewritten. The .dist-info folder is matched by project name because a
    wheel may vendor other projects' .dist-info folders deeper down.
    """
    name = parse_wheel_filename(path.name)[0]
    try:
        with zipfile.ZipFile(path) as wheel:
            candidates = [
                entry for entry in wheel.namelist()
                if entry.count("/") == 1 and entry.endswith(".dist-info/METADATA")
                and canonicalize_name(entry.split("/")[0][: -len(".dist-info")].rsplit("-", 1)[0]) == name
            ]
            if len(candidates) != 1:
                raise DistributionError(path.name, f"expected one {name} .dist-info/METADATA, found {len(candidates)}")
            return wheel.read(candidates[0])
    except (zipfile.BadZipFile, OSError) as exc:
        raise DistributionError(path.name, f"not a readable wheel: {exc}") from None
