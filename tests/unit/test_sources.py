from pathlib import Path

import pytest

from mirror.errors import InputError
from mirror.inputs.sources import HASHED, PYLOCK, PYPROJECT, REQUIREMENTS, read_sets
from mirror.inputs.targets import Target
from mirror.upstream.indexes import order

A = "a" * 64


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_kinds_and_names_follow_the_file(tmp_path):
    paths = [
        write(tmp_path / "team-a.txt", "alpha\n"),
        write(tmp_path / "locked.txt", f"alpha==1.0 --hash=sha256:{A}\n"),
        write(tmp_path / "svc/pyproject.toml", '[project]\nname = "My_Service"\nversion = "1"\n'
                                               'dependencies = ["alpha"]\n'),
        write(tmp_path / "x/pylock.dev.toml", 'lock-version = "1.0"\ncreated-by = "t"\n'),
    ]
    sets = read_sets(paths)
    assert [(s.name, s.kind) for s in sets] == [
        ("team-a", REQUIREMENTS), ("locked", HASHED), ("my-service", PYPROJECT), ("dev", PYLOCK)]
    assert sets[1].hashes == {"alpha": frozenset({A})}


def test_two_files_of_one_name_take_their_folders_name(tmp_path):
    a = write(tmp_path / "team-a/requirements.txt", "alpha\n")
    b = write(tmp_path / "team-b/requirements.txt", "beta\n")
    assert [s.name for s in read_sets([a, b])] == ["team-a-requirements", "team-b-requirements"]


def test_extras_and_groups_become_uv_options_and_unknown_ones_fail(tmp_path):
    path = write(tmp_path / "pyproject.toml", '[project]\nname = "p"\nversion = "1"\nrequires-python = ">=3.12"\n'
                                              'dependencies = []\n[project.optional-dependencies]\nCli = ["x"]\n'
                                              'web = ["y"]\n[dependency-groups]\ndev = ["z"]\n')
    (s,) = read_sets([path], extras="all", groups="dev")
    assert s.compile_args == ("--extra", "cli", "--extra", "web", "--group", "dev", "--no-sources")
    assert s.excludes(Target("3.11", "manylinux_x86_64")) == "requires-python >=3.12 excludes Python 3.11"
    assert s.excludes(Target("3.12", "manylinux_x86_64")) is None
    with pytest.raises(InputError, match=f"group lint is defined by none of {path}"):
        read_sets([path], groups="lint")
    txt = write(tmp_path / "r.txt", "alpha\n")
    with pytest.raises(InputError, match="no pyproject.toml, uv.lock or pylock.toml among the requirements"):
        read_sets([txt], extras="cli")


@pytest.mark.parametrize("deps, where", [
    ('dependencies = ["app @ https://files.example/app.whl"]', "[project] dependencies"),
    ('dependencies = []\n[project.optional-dependencies]\nx = ["lib @ file:///srv/lib"]',
     "[project.optional-dependencies] x"),
])
def test_direct_references_in_a_pyproject_are_named(tmp_path, deps, where):
    path = write(tmp_path / "pyproject.toml", f'[project]\nname = "p"\nversion = "1"\n{deps}\n')
    with pytest.raises(InputError, match=rf"{path}: {where.replace('[', '.').replace(']', '.')}: .*cannot be mirrored"):
        read_sets([path])


def test_index_order_is_extras_then_files_then_index_url_with_secret_credentials():
    urls = order("https://pypi.example/simple",
                 ["https://private.example/simple/"],
                 ["https://torch.example/whl/cpu", "https://pypi.example/simple/", "https://private.example/simple"],
                 ["https://u:tok@private.example/simple/", "https://v:pw@pypi.example/simple/"])
    assert urls == ["https://u:tok@private.example/simple/", "https://torch.example/whl/cpu",
                    "https://v:pw@pypi.example/simple/"]
