"""Each knob is defined once (mirror/settings.py); every other place that spells it is generated or checked here."""

from __future__ import annotations

import re

import pytest

from mirror import knobs
from mirror.cli import main
from mirror.errors import InputError
from mirror.settings import FIELDS, env_default, spell

DOCKERFILE = (knobs.REPO / "Dockerfile").read_text()
BAKE = (knobs.REPO / "docker-bake.hcl").read_text()
VARIABLES = [v for v, *_ in knobs.bake_knobs()]


@pytest.mark.parametrize("path", list(knobs.TARGETS), ids=lambda p: p.name)
def test_the_generated_blocks_are_in_step_with_settings(path):
    assert path.read_text() == knobs.expected(path), "run: python3 -m mirror.knobs --write"


def test_every_bake_knob_reaches_build_py_as_its_pypi_mirror_variable():
    arg = re.search(r"^ARG PYPI_MIRROR_(?:.*\\\n)*.*$", DOCKERFILE, re.M).group(0)
    declared = set(re.findall(r"PYPI_MIRROR_([A-Z_]+)", arg))
    passed = set(re.findall(r"^\s+PYPI_MIRROR_([A-Z_]+)\s+=", BAKE, re.M))
    # INDEX_URL reaches build.py through mirror/secrets.sh (it may be replaced by a secret).
    assert declared == set(VARIABLES) - {"INDEX_URL"}
    assert passed == set(VARIABLES) - {"INDEX_URL"}


def test_the_dockerfile_builds_no_argument_list():
    build_step = DOCKERFILE.split("cd /src; \\\n")[1].split("\n\n")[0]
    assert "set --" not in build_step and "$PYPI_MIRROR" not in build_step


def test_an_environment_default_is_parsed_as_its_option_would_be(monkeypatch):
    monkeypatch.setenv("PYPI_MIRROR_INCLUDE_SDISTS", "yes")
    monkeypatch.setenv("PYPI_MIRROR_PYTHON_VERSIONS", "3.12")
    monkeypatch.setenv("PYPI_MIRROR_KEEP_PREVIOUS_PINS", "")  # bake passes unset knobs as empty
    assert env_default(FIELDS["include_sdists"]) is True
    assert env_default(FIELDS["python_versions"]) == "3.12"
    assert env_default(FIELDS["keep_previous_pins"]) is False


def test_a_knob_is_named_as_the_user_set_it(monkeypatch):
    assert spell("vuln_db") == "--vuln-db"
    monkeypatch.setenv("PYPI_MIRROR_VULN_DB", "/inputs/vuln_db/osv.zip")
    assert spell("vuln_db") == "VULN_DB"
    error = InputError("file not found: osv.zip", option="vuln_db")
    assert error.explain(spell) == "VULN_DB: file not found: osv.zip"  # the CLI edge spells the knob
    assert str(error) == "--vuln-db: file not found: osv.zip"  # an error alone reads no settings


def test_a_malformed_environment_default_is_one_error_line_naming_the_variable(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("PYPI_MIRROR_INCLUDE_SDISTS", "maybe")
    assert main(["build", "-o", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == \
        "pypi-mirror: error: INCLUDE_SDISTS='maybe': expected 1/true/yes or 0/false/no"


def test_nothing_to_mirror_is_one_line(capsys, tmp_path):
    assert main(["build", "-o", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == ("pypi-mirror: error: nothing to mirror: give a requirements "
                                                        "file (--requirements) or a lock (--lock)")
