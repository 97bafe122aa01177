import gzip
import hashlib
import io
import json
import stat
import tarfile
import urllib.parse
from pathlib import Path

import pypi_simple
import pytest
from packaging.utils import canonicalize_name

from mirror.resolve.lock import LockedFile
from mirror.tree.index import (
    IndexFile,
    Project,
    build_projects,
    render_project_html,
    render_project_json,
    render_root_html,
    render_root_json,
    write_index,
)

A, B, C, D, E, F, Z = ("a" * 64, "b" * 64, "c" * 64, "d" * 64, "e" * 64, "f" * 64, "0" * 64)

LOCAL_WHEEL = "foo_bar-1.0+local.1-py3-none-any.whl"
CP_WHEEL = "foo_bar-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"
SDIST = "foo_bar-1.0.tar.gz"
REASON = "bad & <broken> \u2014 use 1.1"

FOO = Project(
    name=canonicalize_name("Foo_Bar"),
    versions=("1.0", "1.0+local.1"),
    files=(
        IndexFile(LOCAL_WHEEL, A, 1234, "2024-01-02T03:04:05.000000Z", ">=3.8, <4", False, B),
        IndexFile(CP_WHEEL, C, 2048, "2024-01-02T03:04:06.000000Z", None, REASON, D),
        IndexFile(SDIST, E, 512, None, None, True, None),
    ),
)
AAA = Project(
    name=canonicalize_name("aaa"),
    versions=("0.1",),
    files=(IndexFile("aaa-0.1-py3-none-any.whl", F, 10, None, None, False, Z),),
)


def head(title: str) -> str:
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.4">\n'
        f"    <title>{title}</title>\n  </head>\n  <body>\n    <h1>{title}</h1>\n"
    )


TAIL = "  </body>\n</html>\n"


def test_project_records_hold_the_normalized_name():
    assert FOO.name == "foo-bar"


def test_root_html_is_exact():
    assert render_root_html([AAA, FOO]) == (
        head("Simple index")
        + '    <a href="aaa/">aaa</a><br>\n'
        + '    <a href="foo-bar/">foo-bar</a><br>\n'
        + TAIL
    )


def test_root_json_is_exact_and_compact():
    assert render_root_json([AAA, FOO]) == (
        '{"meta":{"api-version":"1.4"},"projects":[{"name":"aaa"},{"name":"foo-bar"}]}'
    )


def test_project_html_is_exact():
    assert render_project_html(FOO) == (
        head("Links for foo-bar")
        + f'    <a href="../../packages/foo_bar-1.0%2Blocal.1-py3-none-any.whl#sha256={A}"'
        f' data-requires-python="&gt;=3.8, &lt;4" data-core-metadata="sha256={B}">{LOCAL_WHEEL}</a><br>\n'
        + f'    <a href="../../packages/{CP_WHEEL}#sha256={C}"'
        f' data-yanked="bad &amp; &lt;broken&gt; \u2014 use 1.1" data-core-metadata="sha256={D}">{CP_WHEEL}</a><br>\n'
        + f'    <a href="../../packages/{SDIST}#sha256={E}" data-yanked="">{SDIST}</a><br>\n'
        + TAIL
    )


EXPECTED_FOO_JSON = {
    "meta": {"api-version": "1.4"},
    "name": "foo-bar",
    "versions": ["1.0", "1.0+local.1"],
    "files": [
        {
            "filename": LOCAL_WHEEL,
            "url": "../../packages/foo_bar-1.0%2Blocal.1-py3-none-any.whl",
            "hashes": {"sha256": A},
            "requires-python": ">=3.8, <4",
            "core-metadata": {"sha256": B},
            "yanked": False,
            "size": 1234,
            "upload-time": "2024-01-02T03:04:05.000000Z",
            "provenance": None,
        },
        {
            "filename": CP_WHEEL,
            "url": f"../../packages/{CP_WHEEL}",
            "hashes": {"sha256": C},
            "core-metadata": {"sha256": D},
            "yanked": REASON,
            "size": 2048,
            "upload-time": "2024-01-02T03:04:06.000000Z",
            "provenance": None,
        },
        {
            "filename": SDIST,
            "url": f"../../packages/{SDIST}",
            "hashes": {"sha256": E},
            "core-metadata": False,
            "yanked": True,
            "size": 512,
            "provenance": None,
        },
    ],
}


def test_project_json_is_exact():
    text = render_project_json(FOO)
    assert json.loads(text) == EXPECTED_FOO_JSON
    assert text == json.dumps(EXPECTED_FOO_JSON, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert '"requires-python":">=3.8, <4"' in text
    assert REASON in text


@pytest.mark.parametrize("render", [render_project_html, render_project_json])
def test_no_pre_pep714_metadata_name_anywhere(render):
    assert "dist-info-metadata" not in render(FOO)
    assert "dist-info-metadata" not in render(AAA)


# A tree built from real files on disk.

METADATA_ONE = b"Metadata-Version: 2.1\nName: Tiny.One\nVersion: 1.0\nRequires-Python: >=3.8\n\nTiny one.\n"
METADATA_TWO = b"Metadata-Version: 2.1\nName: tiny_two\nVersion: 2.0+cpu\n"
WHEEL_ONE = "tiny_one-1.0-py3-none-any.whl"
SDIST_ONE = "tiny_one-1.0.tar.gz"
WHEEL_TWO = "tiny_two-2.0+cpu-py3-none-any.whl"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wheel_entries(dist_info: str, metadata: bytes) -> dict[str, bytes]:
    return {
        "tiny/__init__.py": b"",
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist_info}/RECORD": b"",
    }


def sdist_bytes() -> bytes:
    data = b"Metadata-Version: 2.1\nName: Tiny.One\nVersion: 1.0\n"
    info = tarfile.TarInfo("tiny_one-1.0/PKG-INFO")
    info.size, info.mtime = len(data), 0
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


@pytest.fixture
def packages(tmp_path, make_zip):
    source = tmp_path / "source"
    make_zip(source / WHEEL_ONE, wheel_entries("tiny_one-1.0.dist-info", METADATA_ONE))
    make_zip(source / WHEEL_TWO, wheel_entries("tiny_two-2.0+cpu.dist-info", METADATA_TWO))
    (source / SDIST_ONE).write_bytes(sdist_bytes())
    return source


def locked(packages: Path, filename: str, name: str, version: str, **extra) -> LockedFile:
    return LockedFile(
        filename=filename, name=canonicalize_name(name), version=version,
        url=f"https://up.example/files/{filename}", sha256=sha256((packages / filename).read_bytes()),
        size=(packages / filename).stat().st_size, targets=("py3.11-manylinux_x86_64",), **extra,
    )


def lock_files(packages: Path) -> list[LockedFile]:
    return [
        locked(packages, WHEEL_TWO, "tiny_two", "2.0+cpu", yanked="superseded"),
        locked(packages, SDIST_ONE, "Tiny.One", "1.0", requires_python=">=3.8"),
        locked(packages, WHEEL_ONE, "Tiny.One", "1.0", requires_python=">=3.8",
               upload_time="2024-05-06T07:08:09.123456Z"),
    ]


def build_tree(packages: Path, root: Path) -> list[Project]:
    (root / "packages").mkdir(parents=True, exist_ok=True)
    for f in packages.iterdir():
        (root / "packages" / f.name).write_bytes(f.read_bytes())
    projects = build_projects(lock_files(packages), root / "packages")
    write_index(projects, root)
    return projects


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256(p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


def size(packages: Path, filename: str) -> int:
    return (packages / filename).stat().st_size


def test_build_projects_gives_the_model_of_the_files(packages, tmp_path):
    projects = build_tree(packages, tmp_path / "tree")
    digest = {f.name: sha256(f.read_bytes()) for f in packages.iterdir()}
    assert projects == [
        Project("tiny-one", ("1.0",), (
            IndexFile(WHEEL_ONE, digest[WHEEL_ONE], size(packages, WHEEL_ONE), "2024-05-06T07:08:09.123456Z",
                      ">=3.8", False, sha256(METADATA_ONE)),
            IndexFile(SDIST_ONE, digest[SDIST_ONE], size(packages, SDIST_ONE), None, ">=3.8", False, None),
        )),
        Project("tiny-two", ("2.0+cpu",), (
            IndexFile(WHEEL_TWO, digest[WHEEL_TWO], size(packages, WHEEL_TWO), None, None, "superseded",
                      sha256(METADATA_TWO)),
        )),
    ]


def test_written_tree_has_exactly_the_pages_and_metadata_files(packages, tmp_path):
    root = tmp_path / "tree"
    build_tree(packages, root)
    pages = [f"simple/{stem}.{ext}" for stem in ("index", "tiny-one/index", "tiny-two/index")
             for ext in ("html", "html.gz", "json", "json.gz")]
    assert sorted(tree_hashes(root)) == sorted([
        f"packages/{WHEEL_ONE}", f"packages/{WHEEL_ONE}.metadata", f"packages/{SDIST_ONE}",
        f"packages/{WHEEL_TWO}", f"packages/{WHEEL_TWO}.metadata", *pages,
    ])


def test_metadata_files_are_the_wheels_metadata_and_pages_carry_their_hash(packages, tmp_path):
    root = tmp_path / "tree"
    build_tree(packages, root)
    for wheel, project, metadata in ((WHEEL_ONE, "tiny-one", METADATA_ONE), (WHEEL_TWO, "tiny-two", METADATA_TWO)):
        assert (root / "packages" / f"{wheel}.metadata").read_bytes() == metadata
        page_html = (root / "simple" / project / "index.html").read_text()
        page_json = json.loads((root / "simple" / project / "index.json").read_text())
        assert f'data-core-metadata="sha256={sha256(metadata)}"' in page_html
        (entry,) = [f for f in page_json["files"] if f["filename"] == wheel]
        assert entry["core-metadata"] == {"sha256": sha256(metadata)}


def test_written_pages_equal_the_renderings_and_gz_twins_decompress_to_them(packages, tmp_path):
    root = tmp_path / "tree"
    projects = build_tree(packages, root)
    expected = {
        "simple/index.html": render_root_html(projects),
        "simple/index.json": render_root_json(projects),
        **{f"simple/{p.name}/index.html": render_project_html(p) for p in projects},
        **{f"simple/{p.name}/index.json": render_project_json(p) for p in projects},
    }
    for relative, text in expected.items():
        page = (root / relative).read_bytes()
        assert page == text.encode("utf-8")
        assert gzip.decompress((root / f"{relative}.gz").read_bytes()) == page


def test_writing_twice_gives_byte_identical_trees(packages, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    build_tree(packages, first)
    build_tree(packages, second)
    before = tree_hashes(first)
    assert before == tree_hashes(second)
    build_tree(packages, first)
    assert tree_hashes(first) == before


def test_written_files_are_world_readable_0644(packages, tmp_path):
    root = tmp_path / "tree"
    build_tree(packages, root)
    written = [*(root / "simple").rglob("*.*"), *(root / "packages").glob("*.metadata")]
    assert len(written) == 14
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {p.name: "0o644" for p in written}


def local_path(url: str) -> Path:
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "file"
    return Path(urllib.parse.unquote(parts.path))


def client_view(page: pypi_simple.ProjectPage) -> dict:
    return {
        pkg.filename: {
            "path": local_path(pkg.url),
            "digests": pkg.digests,
            "requires_python": pkg.requires_python,
            "is_yanked": pkg.is_yanked,
            "yanked_reason": pkg.yanked_reason or None,
            "has_metadata": bool(pkg.has_metadata),
            "metadata_digests": pkg.metadata_digests or None,
            "metadata_path": local_path(pkg.metadata_url) if pkg.has_metadata else None,
        }
        for pkg in page.packages
    }


def disk_view(root: Path, files: list[LockedFile], project: str) -> dict:
    view = {}
    for f in files:
        if f.name != project:
            continue
        path = root / "packages" / f.filename
        metadata = path.with_name(f"{f.filename}.metadata")
        view[f.filename] = {
            "path": path,
            "digests": {"sha256": sha256(path.read_bytes())},
            "requires_python": f.requires_python,
            "is_yanked": f.yanked is not False,
            "yanked_reason": f.yanked if isinstance(f.yanked, str) else None,
            "has_metadata": metadata.exists(),
            "metadata_digests": {"sha256": sha256(metadata.read_bytes())} if metadata.exists() else None,
            "metadata_path": metadata if metadata.exists() else None,
        }
    return view


def test_pypi_simple_reads_the_tree_as_it_is_on_disk(packages, tmp_path):
    root = tmp_path / "tree"
    build_tree(packages, root)
    files = lock_files(packages)
    index = pypi_simple.IndexPage.from_html((root / "simple" / "index.html").read_text())
    assert index.projects == ["tiny-one", "tiny-two"]
    for project in index.projects:
        folder = root / "simple" / project
        base = folder.as_uri() + "/"
        from_html = pypi_simple.ProjectPage.from_html(project, (folder / "index.html").read_bytes(), base_url=base)
        from_json = pypi_simple.ProjectPage.from_json_data(
            json.loads((folder / "index.json").read_text()), base_url=base)
        expected = disk_view(root, files, project)
        assert len(expected) == {"tiny-one": 2, "tiny-two": 1}[project]
        assert client_view(from_html) == expected
        assert client_view(from_json) == expected
