"""Issue 21 item 11 (build side): what an upstream or an export sends is read within stated bounds."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from mirror.advisories import vulndb
from mirror.errors import DistributionError, InputError, VulnDatabaseError
from mirror.fetch import metadata
from mirror.inputs.pylock import read_pylock
from mirror.resolve.lock import read_lock

WHEEL = "bomb-1.0-py3-none-any.whl"


def deflated(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def test_a_wheel_whose_metadata_unpacks_past_the_bound_is_refused(tmp_path, monkeypatch):
    # Failed before issue 21: METADATA was read whole, however large it unpacked (306 KB -> 300 MB).
    monkeypatch.setattr(metadata, "MAX_METADATA", 1 << 20)
    path = tmp_path / WHEEL
    path.write_bytes(deflated({"bomb-1.0.dist-info/METADATA": b"Name: bomb\n" + b" " * (8 << 20)}))
    assert path.stat().st_size < 64 << 10
    with pytest.raises(DistributionError, match=r"METADATA unpacks to more than 1048576 bytes"):
        metadata.wheel_metadata(path)


def test_an_osv_export_member_that_unpacks_past_the_bound_is_refused(monkeypatch):
    # Failed before issue 21: each member was read whole, then parsed.
    monkeypatch.setattr(vulndb, "MAX_RECORD", 1 << 20)
    record = json.dumps({"id": "PYSEC-0-0", "details": " " * (4 << 20)}).encode()
    with pytest.raises(VulnDatabaseError, match=r"PYSEC-0-0.json unpacks to more than 1048576 bytes"):
        vulndb.parse_export(deflated({"PYSEC-0-0.json": record}), "all.zip")


def test_an_osv_export_that_unpacks_past_the_total_bound_is_refused(monkeypatch):
    monkeypatch.setattr(vulndb, "MAX_UNPACKED", 1 << 20)
    members = {f"PYSEC-0-{n}.json": json.dumps({"id": f"PYSEC-0-{n}", "details": " " * (300 << 10)}).encode()
               for n in range(5)}
    with pytest.raises(VulnDatabaseError, match="unpacks to more than 1048576 bytes"):
        vulndb.parse_export(deflated(members), "all.zip")


def test_a_deeply_nested_osv_record_is_one_line():
    # Failed before issue 21: RecursionError.
    with pytest.raises(VulnDatabaseError, match="nests deeper"):
        vulndb.parse_export(deflated({"x.json": b"[" * 200_000}), "all.zip")


@pytest.mark.parametrize("reader, name, text", [
    (read_lock, "lock.json", "[" * 200_000),
    (read_pylock, "pylock.toml", "a = " + "[" * 200_000),
], ids=["lock.json", "pylock.toml"])
def test_deeply_nested_json_and_toml_inputs_are_one_line(tmp_path, reader, name, text):
    # Failed before issue 21: RecursionError, a traceback.
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match="nests deeper than this build reads"):
        reader(path)
