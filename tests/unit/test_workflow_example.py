"""The weekly-refresh workflow example calls only commands this repo has and tests."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "weekly-refresh.yml"


def run_lines() -> list[str]:
    document = yaml.safe_load(WORKFLOW.read_text())
    steps = document["jobs"]["refresh"]["steps"]
    return [line.strip() for step in steps for line in step.get("run", "").splitlines() if line.strip()]


def test_every_script_it_calls_exists_and_is_executable():
    scripts = {word for line in run_lines() for word in line.split() if word.startswith("scripts/")}
    assert scripts == {"scripts/refresh", "scripts/build", "scripts/bundle"}
    for script in scripts:
        assert (REPO / script).stat().st_mode & 0o111, script


def test_it_verifies_the_new_image_with_build_py_verify():
    assert any(line.startswith(".venv/bin/python build.py verify http://127.0.0.1:8080") for line in run_lines())
