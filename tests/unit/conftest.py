import io
import zipfile
from pathlib import Path

import pytest


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


@pytest.fixture
def make_zip():
    """Writes a zip with fixed timestamps, so the same entries give the same bytes."""

    def make(path: Path, entries: dict[str, bytes]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_zip_bytes(entries))
        return path

    return make
