import contextlib
import logging


from mirror.cli import main


@contextlib.contextmanager
def fresh_root_logger():
    """The root logger as a new process has it (no handlers), so main's own logging setup applies."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def run(capsys, *argv):
    with fresh_root_logger():
        code = main(["build", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def test_missing_requirements_file_exits_1_with_an_error_line_and_writes_nothing(tmp_path, capsys):
    missing = tmp_path / "absent.txt"
    code, out, err = run(capsys, "-r", str(missing), "-o", str(tmp_path / "out"))
    assert code == 1
    assert out == ""
    assert err[-1] == f"pypi-mirror: error: --requirements: file not found: {missing}"
    assert list(tmp_path.iterdir()) == []


def test_missing_requirements_file_prints_exactly_one_line(tmp_path, capsys):
    missing = tmp_path / "absent.txt"
    code, _, err = run(capsys, "-r", str(missing), "-o", str(tmp_path / "out"))
    assert code == 1
    assert err == [f"pypi-mirror: error: --requirements: file not found: {missing}"]


def test_unknown_platform_exits_1_with_one_line_naming_it(tmp_path, capsys):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six\n")
    code, out, err = run(capsys, "-r", str(requirements), "-o", str(tmp_path / "out"), "--platforms", "nope")
    assert code == 1
    assert out == ""
    assert err == [
        "pypi-mirror: error: unknown platform 'nope'; accepted: macosx_arm64, macosx_x86_64, manylinux_aarch64, "
        "manylinux_x86_64, musllinux_aarch64, musllinux_x86_64, win_amd64, win_arm64"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requirements.txt"]


def test_missing_lock_file_exits_1_naming_it(tmp_path, capsys):
    lock = tmp_path / "lock.json"
    code, _, err = run(capsys, "--lock", str(lock), "-o", str(tmp_path / "out"))
    assert code == 1
    assert err == [f"pypi-mirror: error: --lock: file not found: {lock}"]
    assert list(tmp_path.iterdir()) == []


def test_bad_python_version_exits_1_with_one_line_naming_it(tmp_path, capsys):
    code, _, err = run(capsys, "-r", "x.txt", "-o", str(tmp_path / "out"), "--python-versions", "3.12 3.1x")
    assert code == 1
    assert err == ["pypi-mirror: error: unknown Python version '3.1x'; accepted: 3.8, 3.9, 3.10, ..."]
