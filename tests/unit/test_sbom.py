import datetime
import json

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from mirror.resolve.lock import LockedFile
from mirror.tree.sbom import purl, render_sbom, serial_number

FILES = [
    LockedFile("six-1.16.0-py2.py3-none-any.whl", "six", "1.16.0", "https://f.example/six.whl", "a" * 64),
    LockedFile("six-1.16.0.tar.gz", "six", "1.16.0", "https://f.example/six.tar.gz", "b" * 64),
    LockedFile("zope.interface-6.0+local-cp311-cp311-win_amd64.whl", "zope-interface", "6.0+local",
               "https://f.example/z.whl", "c" * 64),
]
METADATA = {"six-1.16.0-py2.py3-none-any.whl": "d" * 64}
BUILT = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


def sbom(**kwargs) -> dict:
    return json.loads(render_sbom(FILES, METADATA, lock_sha256="e" * 64, built=BUILT, **kwargs))


def test_purl_is_normalized_name_and_percent_encoded_version():
    assert purl("zope-interface", "6.0+local") == "pkg:pypi/zope-interface@6.0%2Blocal"


def test_serial_number_is_a_uuid_derived_from_the_lock():
    assert serial_number("e" * 64) == serial_number("e" * 64) != serial_number("f" * 64)
    assert serial_number("e" * 64).startswith("urn:uuid:")


def test_one_component_per_release_with_every_file_and_its_hash():
    document = sbom()
    assert (document["bomFormat"], document["specVersion"], document["version"]) == ("CycloneDX", "1.6", 1)
    assert document["metadata"]["timestamp"] == "2024-01-02T03:04:05Z"
    assert document["components"] == [
        {"type": "library", "bom-ref": "pkg:pypi/six@1.16.0", "name": "six", "version": "1.16.0",
         "purl": "pkg:pypi/six@1.16.0", "externalReferences": [
             {"type": "distribution", "url": "packages/six-1.16.0-py2.py3-none-any.whl",
              "comment": "six-1.16.0-py2.py3-none-any.whl", "hashes": [{"alg": "SHA-256", "content": "a" * 64}]},
             {"type": "other", "url": "packages/six-1.16.0-py2.py3-none-any.whl.metadata",
              "comment": "core metadata (PEP 658) of six-1.16.0-py2.py3-none-any.whl",
              "hashes": [{"alg": "SHA-256", "content": "d" * 64}]},
             {"type": "source-distribution", "url": "packages/six-1.16.0.tar.gz",
              "comment": "six-1.16.0.tar.gz", "hashes": [{"alg": "SHA-256", "content": "b" * 64}]},
         ]},
        {"type": "library", "bom-ref": "pkg:pypi/zope-interface@6.0%2Blocal", "name": "zope-interface",
         "version": "6.0+local", "purl": "pkg:pypi/zope-interface@6.0%2Blocal", "externalReferences": [
             {"type": "distribution", "url": "packages/zope.interface-6.0%2Blocal-cp311-cp311-win_amd64.whl",
              "comment": "zope.interface-6.0+local-cp311-cp311-win_amd64.whl",
              "hashes": [{"alg": "SHA-256", "content": "c" * 64}]},
         ]},
    ]


def test_same_input_same_bytes_and_no_timestamp_without_a_build_time():
    text = render_sbom(FILES, METADATA, lock_sha256="e" * 64, built=BUILT)
    assert text == render_sbom(list(reversed(FILES)), METADATA, lock_sha256="e" * 64, built=BUILT)
    assert "timestamp" not in json.loads(render_sbom(FILES, METADATA, lock_sha256="e" * 64, built=None))["metadata"]


def test_sbom_is_valid_cyclonedx_1_6():
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    assert validator.validate_str(render_sbom(FILES, METADATA, lock_sha256="e" * 64, built=BUILT)) is None


def test_the_validator_does_reject_a_broken_sbom():
    # Guards the test above: a validator that accepts anything would prove nothing.
    broken = sbom()
    broken["components"][0]["externalReferences"][0]["hashes"][0]["alg"] = "SHA256"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(broken)) is not None
