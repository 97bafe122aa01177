"""Searching every byte of an image as `docker save` writes it, down into layers, gzip and zip members."""

from __future__ import annotations

import gzip
import io
import subprocess
import tarfile
import zipfile
from pathlib import Path


def search_image(image: str, needles: dict[str, bytes], work: Path) -> tuple[list[str], list[str]]:
    """(hits as "label in member", every member searched) over the saved image."""
    saved = work / "image.tar"
    subprocess.run(["docker", "save", "-o", str(saved), image], check=True)
    hits: list[str] = []
    seen: list[str] = []
    # Member by member (config JSON, manifest, each layer tar), not the whole archive in memory.
    with tarfile.open(saved) as archive:
        for member in archive:
            if member.isfile():
                search(member.name, archive.extractfile(member).read(), needles, hits, seen)
    saved.unlink()
    return hits, seen


def search(name: str, data: bytes, needles: dict[str, bytes], hits: list[str], seen: list[str]) -> None:
    """Search data for each needle; descend into tar, gzip and zip content (layers, .gz twins, wheels)."""
    seen.append(name)
    for label, needle in needles.items():
        if needle in data:
            hits.append(f"{label} in {name}")
    if data[:2] == b"\x1f\x8b":
        try:
            search(f"{name} (gunzipped)", gzip.decompress(data), needles, hits, seen)
        except (OSError, EOFError):
            pass
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                search(f"{name}!{member}", archive.read(member), needles, hits, seen)
    elif len(data) > 512 and data[257:262] == b"ustar":
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive:
                if member.isfile():
                    search(f"{name}/{member.name}", archive.extractfile(member).read(), needles, hits, seen)
