"""Client configuration served by the appliance: /pip.conf, /uv.toml and the env equivalents.

The client is what a user has: a machine on a network with no way out, that
downloads the config file from the mirror (Python's urllib, no pip flags)
and then runs the plain install command with only that file.
"""

from __future__ import annotations

import json
import tomllib

from tests.integration.appliance import run_client


def settings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_a_client_that_only_downloads_pip_conf_or_uv_toml_installs_pip_audit(
    mirror, docker_client, client_image, internal_network
):
    url = f"http://{mirror.alias}:8080"
    output = run_client(docker_client, client_image, internal_network, f"""
        cd /
        python3 -c 'import urllib.request as u; u.urlretrieve("{url}/pip.conf", "pip.conf"); u.urlretrieve("{url}/uv.toml", "uv.toml")'

        python3 -m venv /pip-venv
        PIP_CONFIG_FILE=/pip.conf /pip-venv/bin/pip install --quiet --report /pip-report.json pip-audit >&2
        /pip-venv/bin/pip-audit --version >&2

        python3 -m venv --without-pip /uv-venv
        UV_CONFIG_FILE=/uv.toml uv pip install --python /uv-venv/bin/python pip-audit >&2
        /uv-venv/bin/pip-audit --version >&2

        python3 -c 'import json; print(json.dumps({{"pip.conf": open("/pip.conf").read(), "uv.toml": open("/uv.toml").read(), "report": json.load(open("/pip-report.json"))}}))'
    """, with_uv=True)
    result = json.loads(output)

    assert settings(result["pip.conf"]) == [
        "[global]",
        f"index-url = {url}/simple/",
        f"trusted-host = {mirror.alias}",
    ], result["pip.conf"]
    assert tomllib.loads(result["uv.toml"]) == {
        "index": [{"name": "pypi-mirror", "url": f"{url}/simple/", "default": True}]}
    urls = [item["download_info"]["url"] for item in result["report"]["install"]]
    assert urls and all(u.startswith(f"{url}/packages/") for u in urls), urls


def test_the_documented_environment_variables_install_pip_audit(
    mirror, docker_client, client_image, internal_network
):
    url = f"http://{mirror.alias}:8080"
    run_client(docker_client, client_image, internal_network, f"""
        export PIP_INDEX_URL={url}/simple/ PIP_TRUSTED_HOST={mirror.alias}
        export UV_DEFAULT_INDEX={url}/simple/
        python3 -m venv /pip-venv
        /pip-venv/bin/pip install --quiet pip-audit >&2
        /pip-venv/bin/pip-audit --version >&2
        python3 -m venv --without-pip /uv-venv
        uv pip install --python /uv-venv/bin/python pip-audit >&2
        /uv-venv/bin/pip-audit --version >&2
    """, with_uv=True)


def test_landing_page_shows_the_config_and_env_for_the_address_used(mirror):
    host = f"{mirror.alias}:8080"
    page = mirror.get("/", headers={"Host": host}).text
    assert f'export PIP_INDEX_URL=http://{host}/simple/ PIP_TRUSTED_HOST={mirror.alias}' in page
    assert f"export UV_DEFAULT_INDEX=http://{host}/simple/" in page
    assert f"curl -fsSo pip.conf http://{host}/pip.conf" in page
    for note in ("PIP_CERT", "SSL_CERT_FILE", "UV_INDEX_PYPI_MIRROR_USERNAME", "netrc"):
        assert note in page
    assert "@MIRROR_" not in page and "@PIP_" not in page
