"""A wheel's core metadata, byte for byte, for its PEP 658 `.metadata` file."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from mirror.errors import DistributionError

# A METADATA file's bytes, at most (docs/building.md, "Downloads"): the largest on PyPI are a few MB of
# README text; a crafted wheel's header may claim anything, so the read itself stops here.
MAX_METADATA = 16 << 20


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
            with wheel.open(candidates[0]) as stream:
                data = stream.read(MAX_METADATA + 1)
            if len(data) > MAX_METADATA:
                raise DistributionError(path.name, f"{candidates[0]} unpacks to more than {MAX_METADATA} bytes")
            return data
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError, zlib.error) as exc:
        raise DistributionError(path.name, f"not a readable wheel: {exc}") from None
