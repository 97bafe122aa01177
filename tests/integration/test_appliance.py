"""The appliance end to end: built by bake, serving, installing pip-audit offline."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
from packaging.utils import canonicalize_name

from tests.integration.appliance import run_client, start_mirror


def test_air_gapped_client_installs_pip_audit_and_every_file_came_from_the_mirror(
    mirror, docker_client, client_image, internal_network
):
    report = run_client(docker_client, client_image, internal_network, f"""
        python3 -m venv /v
        /v/bin/pip install --index-url http://{mirror.alias}:8080/simple/ --trusted-host {mirror.alias} \\
            --report /tmp/report.json --quiet pip-audit >&2
        /v/bin/pip-audit --version >&2
        cat /tmp/report.json
    """)
    installed = json.loads(report)["install"]
    urls = [item["download_info"]["url"] for item in installed]
    assert {canonicalize_name(item["metadata"]["name"]) for item in installed} >= {"pip-audit", "requests", "rich"}
    assert all(url.startswith(f"http://{mirror.alias}:8080/packages/") for url in urls), urls

    access_log, _ = mirror.logs()
    served = set(re.findall(r'"GET (/packages/\S+) HTTP/[\d.]+" 200 ', access_log))
    for url in urls:
        path = url.split(f"{mirror.alias}:8080", 1)[1].split("#", 1)[0]
        assert path in served, f"{path} was installed but not served by the mirror"


def test_healthz(mirror):
    response = mirror.get("/healthz")
    assert response.status_code == 200


def test_root_index_lists_pip_audit_and_its_dependencies(mirror):
    page = mirror.get("/simple/", headers={"Accept": "text/html"}).text
    for project in ("pip-audit", "requests", "rich", "cyclonedx-python-lib", "msgpack"):
        assert f'href="{project}/"' in page


def test_project_page_links_files_relative_with_sha256(mirror):
    page = mirror.get("/simple/pip-audit/", headers={"Accept": "text/html"}).text
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert hrefs and all(re.fullmatch(r"\.\./\.\./packages/pip_audit-[^#/]+\.whl#sha256=[0-9a-f]{64}", h)
                         for h in hrefs), hrefs


def test_unknown_paths_are_404_and_folders_are_not_listed(mirror):
    assert mirror.get("/nope").status_code == 404
    assert mirror.get("/simple/no-such-project/").status_code == 404
    listing = mirror.get("/packages/")
    assert listing.status_code in (403, 404)
    assert ".whl" not in listing.text


def test_runs_as_non_root(mirror):
    container = mirror.container.get_wrapped_container()
    exit_code, output = container.exec_run(["/bin/sh", "-c", "grep ^Uid: /proc/1/status"])
    assert exit_code == 0
    real_uid = int(output.split()[1])
    assert real_uid != 0


def test_tree_is_at_the_documented_path(mirror):
    container = mirror.container.get_wrapped_container()
    exit_code, output = container.exec_run(
        ["/bin/sh", "-c", "ls /srv/pypi/simple/pip-audit/index.html /srv/pypi/packages/ /srv/pypi/lock.json"])
    assert exit_code == 0, output
    assert b"pip_audit-" in output


def test_access_log_on_stdout_and_nothing_on_stderr_for_a_normal_request(mirror):
    mirror.get("/simple/requests/", headers={"Accept": "text/html"})
    stdout, stderr = mirror.logs()
    assert '"GET /simple/requests/ HTTP/1.1" 200' in stdout
    assert "/simple/requests/" not in stderr


@pytest.mark.parametrize("signal", ["SIGQUIT", "SIGTERM"])
def test_stops_fast_and_clean_on_a_stop_signal(mirror_image, internal_network, signal):
    # docker stop sends the image's STOPSIGNAL (SIGQUIT, nginx's graceful stop);
    # orchestrators and `docker kill` may send SIGTERM (nginx's fast stop).
    container, _ = start_mirror(mirror_image, internal_network)
    wrapped = container.get_wrapped_container()
    started = time.monotonic()
    wrapped.kill(signal=signal)
    status = wrapped.wait(timeout=10)
    elapsed = time.monotonic() - started
    wrapped.remove()
    assert elapsed < 5, f"{signal} took {elapsed:.1f} s to stop the container"
    assert status["StatusCode"] == 0


def test_the_entry_point_skips_the_official_nginx_images_own_hooks(mirror_image, tmp_path):
    """The official image ships its hooks in /docker-entrypoint.d; the appliance leaves them (deleting
    them takes a RUN, whose layer holds the wall clock) and its entry point runs only its own."""
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\necho base-image-hook-ran >&2\n")
    hook.chmod(0o755)
    result = subprocess.run(
        ["docker", "run", "--rm", "-v", f"{hook}:/docker-entrypoint.d/20-envsubst-on-templates.sh:ro", mirror_image,
         "/usr/sbin/nginx", "-c", "/etc/pypi-mirror/nginx/nginx.conf", "-e", "/dev/stderr", "-t"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skipping /docker-entrypoint.d/20-envsubst-on-templates.sh" in result.stderr, result.stderr[-3000:]
    assert "base-image-hook-ran" not in result.stderr
    assert "launching /docker-entrypoint.d/20-tls.sh" in result.stderr  # the appliance's own still run
