"""Each knob is defined once (mirror/settings.py); every other place that spells it is generated or checked here."""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mirror import knobs
from mirror.cli import _parser, main
from mirror.errors import InputError
from mirror.pipeline import check_input_files
from mirror.settings import FIELDS, FILE_INPUTS, IMAGE_KNOBS, Settings, env_default, knob, spell

DOCKERFILE = (knobs.REPO / "Dockerfile").read_text()
BAKE = (knobs.REPO / "docker-bake.hcl").read_text()
VARIABLES = [v for v, *_ in knobs.bake_knobs()]
BLOCK_IDS = [f"{b.label or 'knobs'} in {b.places[0]}" for b in knobs.BLOCKS]


@pytest.mark.parametrize("block", knobs.BLOCKS, ids=BLOCK_IDS)
def test_every_generated_block_is_in_step_with_settings(block):
    homes = knobs.homes(block)
    assert homes, f"no {block.begin()!r} in {block.places}"
    for path in homes:
        text = path.read_text()
        assert knobs.refresh(text, block) == text, f"{path.name} is stale: run python3 -m mirror.knobs --write"


def test_the_check_passes_on_this_tree():
    assert knobs.stale() == []
    assert knobs.main([]) == 0


def _copy(root):
    """The files that hold generated blocks, in a scratch tree the check can be pointed at."""
    for name in ("Dockerfile", "docker-bake.hcl", "README.md"):
        shutil.copy(knobs.REPO / name, root / name)
    if (knobs.REPO / "docs").is_dir():
        shutil.copytree(knobs.REPO / "docs", root / "docs")
    return root


@pytest.mark.parametrize("block", knobs.BLOCKS, ids=BLOCK_IDS)
def test_a_hand_edit_inside_any_block_is_reported_and_rewritten(block, tmp_path):
    root = _copy(tmp_path)
    [home] = knobs.homes(block, root)
    text = home.read_text()
    edited = text.replace(block.begin() + "\n", block.begin() + "\nhand-written line\n", 1)
    assert edited != text
    home.write_text(edited)
    assert knobs.stale(root) == [f"{home.relative_to(root)}: {block.begin()}"]
    assert knobs.write(root) == ([home], [])
    assert home.read_text() == text


@pytest.mark.parametrize("block", [b for b in knobs.BLOCKS if b.places == knobs.DOCS], ids=lambda b: b.label or "knobs")
def test_a_table_is_found_on_whichever_page_holds_its_markers(block, tmp_path):
    root = _copy(tmp_path)
    [home] = knobs.homes(block, root)
    lines = home.read_text().splitlines(keepends=True)
    begin = next(i for i, line in enumerate(lines) if line.strip() == block.begin())
    end = next(i for i, line in enumerate(lines) if line.strip() == block.end())
    table = lines[begin:end + 1]
    home.write_text("".join(lines[:begin] + lines[end + 1:]))
    page = root / "docs" / "moved-here.md"
    page.parent.mkdir(exist_ok=True)
    # A stale copy on its new page: the check names that page, --write fills it in.
    page.write_text("# Knobs\n\n" + table[0] + "| stale |\n" + table[-1])
    assert knobs.homes(block, root) == [page]
    assert knobs.stale(root) == [f"docs/moved-here.md: {block.begin()}"]
    knobs.write(root)
    assert page.read_text() == "# Knobs\n\n" + "".join(table)
    # Markers on no page at all: reported, not silently passed.
    page.write_text("# Knobs\n")
    assert knobs.stale(root) == [f"no {block.begin()!r} in README.md or docs/*.md"]
    assert knobs.write(root) == ([], [f"no {block.begin()!r} in README.md or docs/*.md"])


def test_a_begin_marker_without_its_end_is_an_error_naming_the_file(tmp_path):
    root = _copy(tmp_path)
    bake = root / "docker-bake.hcl"
    block = knobs.BLOCKS[0]
    bake.write_text(bake.read_text().replace(block.end(), "# gone"))
    with pytest.raises(knobs.MarkerError, match="docker-bake.hcl: .* has no"):
        knobs.stale(root)


def test_a_new_file_input_is_one_field_in_settings(monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class More:
        sbom_in: Path | None = knob(None, "an SBOM to compare with", kind="path", variable="SBOM_IN",
                                    bake_default="", file_input=True)

    [field] = dataclasses.fields(More)
    monkeypatch.setattr(knobs, "FIELDS", {**FIELDS, "sbom_in": field})
    monkeypatch.setattr(knobs, "FILE_INPUTS", (*FILE_INPUTS, "sbom_in"))
    made = {(b.label, b.places[0]): b.make() for b in knobs.BLOCKS}
    assert 'variable "SBOM_IN" {' in made[("", "docker-bake.hcl")]
    assert '"sbom_in"]' in made[("file inputs", "docker-bake.hcl")]
    assert re.search(r"\n    sbom_in += SBOM_IN\n", made[("file inputs", "docker-bake.hcl")])
    assert re.search(r'\n    PYPI_MIRROR_SBOM_IN += inside\("sbom_in", SBOM_IN\)\n', made[("build args", "docker-bake.hcl")])
    assert "PYPI_MIRROR_SBOM_IN\n" in made[("build args", "Dockerfile")]
    assert "| `SBOM_IN` | `--sbom-in` | (empty) | an SBOM to compare with |" in made[("", "README.md")]
    assert knobs.LISTS["file-inputs"]()[-1] == "SBOM_IN"


def test_the_image_knobs_are_bake_variables_with_their_descriptions():
    for knob in IMAGE_KNOBS:
        assert re.search(rf'^variable "{knob.variable}" {{\n  default     = "{re.escape(knob.default)}"\n'
                         rf'  description = "{re.escape(knob.description)}"\n}}', BAKE, re.M), knob.variable


def test_every_secret_file_knob_is_mounted_and_read_under_its_id():
    secrets_sh = (knobs.REPO / "mirror" / "secrets.sh").read_text()
    build_step = DOCKERFILE.split("python3 build.py build")[0].rsplit("RUN ", 1)[1]
    for knob in IMAGE_KNOBS:
        if knob.secret:
            assert f"--mount=type=secret,id={knob.secret}" in build_step, knob.variable
            assert f"/run/secrets/{knob.secret}" in secrets_sh, knob.variable


def test_the_lists_for_shell_scripts_come_from_settings(capsys):
    assert knobs.main(["--list", "file-inputs"]) == 0
    assert capsys.readouterr().out.split() == [FIELDS[n].metadata["variable"] for n in FILE_INPUTS]
    assert knobs.main(["--list", "secret-files"]) == 0
    assert capsys.readouterr().out.split() == ["CA_BUNDLE", "INDEX_URL_FILE", "NETRC_FILE", "EXTRA_INDEX_URLS_FILE"]
    assert knobs.main(["--default", "REQUIREMENTS"]) == 0
    assert capsys.readouterr().out == "requirements/pip-audit.txt\n"
    assert knobs.main(["--default", "NO_SUCH"]) == 1
    assert capsys.readouterr().err == "python3 -m mirror.knobs: error: no bake variable 'NO_SUCH'\n"


def test_scripts_build_keeps_no_list_of_its_own():
    script = (knobs.REPO / "scripts" / "build").read_text()
    assert "knobs --list file-inputs" in script and "knobs --list secret-files" in script
    # No `for x in A B C` over knob names, and no copy of a bake default.
    assert not re.search(r"^\s*for \w+ in [A-Z_]+ [A-Z_ ]+;", script, re.M)
    assert "pip-audit.txt}" not in script


def test_scripts_build_reads_the_lists_from_any_working_folder(tmp_path):
    out = subprocess.run(["bash", "-c", 'cd "$1" && (cd "$2" && python3 -m mirror.knobs --list file-inputs)',
                          "-", str(tmp_path), str(knobs.REPO)], capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "REQUIREMENTS"


@pytest.mark.parametrize("name", FILE_INPUTS)
def test_every_file_input_is_checked_before_the_build_starts(name, tmp_path):
    settings = Settings(out=tmp_path / "out", **{name: tmp_path / "absent.txt"})
    with pytest.raises(InputError) as caught:
        check_input_files(settings)
    assert str(caught.value) == f"{spell(name)}: file not found: {tmp_path / 'absent.txt'}"


def test_every_file_input_has_its_folder_in_the_inputs_context():
    for name in FILE_INPUTS:
        field = FIELDS[name]
        assert field.metadata["kind"] == "path" and field.metadata["variable"], name
        assert f'"{name}"' in BAKE.split("function \"input_names\"")[1].split("}")[0], name


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


# --- verify and publish share build's names (issue 23)

def _options(command):
    [commands] = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return commands.choices[command]


@pytest.mark.parametrize("command, argv", [
    ("build", ["-o", "out"]), ("verify", ["http://mirror.example/"]), ("publish", ["http://index.example/", "--tree", "t"]),
])
@pytest.mark.parametrize("spelling", ["--ca-bundle", "--ca-file"])
def test_every_command_takes_the_ca_bundle_under_one_name_and_its_old_one(command, argv, spelling):
    args = _parser().parse_args([command, *argv, spelling, "ca.pem"])
    assert args.ca_bundle == "ca.pem"


@pytest.mark.parametrize("command", ["build", "verify", "publish"])
def test_help_shows_the_one_name_not_the_alias(command):
    text = _options(command).format_help()
    assert "--ca-bundle" in text and "--ca-file" not in text


def test_publish_uploads_as_many_at_a_time_as_build_downloads_by_default():
    publish = _parser().parse_args(["publish", "http://index.example/", "--tree", "t"])
    verify = _parser().parse_args(["verify", "http://mirror.example/"])
    assert publish.jobs == FIELDS["jobs"].default
    assert verify.ca_bundle is None and publish.ca_bundle is None


def test_the_build_environment_does_not_reach_verify_or_publish(monkeypatch):
    # PYPI_MIRROR_* are the image build's inputs: a CA bundle for upstream is no CA for the mirror.
    monkeypatch.setenv("PYPI_MIRROR_CA_BUNDLE", "/run/secrets/ca_bundle")
    monkeypatch.setenv("PYPI_MIRROR_JOBS", "2")
    assert _parser().parse_args(["build", "-o", "out"]).ca_bundle == "/run/secrets/ca_bundle"
    publish = _parser().parse_args(["publish", "http://index.example/", "--tree", "t"])
    assert publish.ca_bundle is None and publish.jobs == FIELDS["jobs"].default
