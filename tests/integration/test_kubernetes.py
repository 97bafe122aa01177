"""The image under the constraints deploy/kubernetes puts on it, with docker run.

No cluster runs here, so the Deployment's securityContext, /tmp emptyDir and
limits are translated into the docker run flags that impose the same thing;
the flags are derived from the manifests, so this breaks if they diverge.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.integration.appliance import REPO

KUBERNETES = REPO / "deploy" / "kubernetes"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def quantity_to_docker(quantity: str) -> str:
    """A Kubernetes binary quantity (16Mi, 1Gi) as docker's size (16m, 1g)."""
    units = {"Ki": "k", "Mi": "m", "Gi": "g"}
    for suffix, docker_suffix in units.items():
        if quantity.endswith(suffix):
            return quantity[: -len(suffix)] + docker_suffix
    raise AssertionError(f"unexpected quantity {quantity!r}: use Ki, Mi or Gi in the manifests")


def docker_run_kwargs(deployment: dict) -> dict:
    """What the pod spec imposes, as docker SDK arguments (docker run flags)."""
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = {**pod.get("securityContext", {}), **container["securityContext"]}
    kwargs: dict = {"security_opt": []}

    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    kwargs["user"] = f"{security['runAsUser']}:{security.get('runAsGroup', security['runAsUser'])}"  # --user
    if "fsGroup" in pod.get("securityContext", {}):
        kwargs["group_add"] = [str(pod["securityContext"]["fsGroup"])]  # --group-add
    kwargs["read_only"] = security["readOnlyRootFilesystem"]  # --read-only
    kwargs["cap_drop"] = security["capabilities"]["drop"]  # --cap-drop ALL
    assert "add" not in security["capabilities"]
    if security["allowPrivilegeEscalation"] is False:
        kwargs["security_opt"].append("no-new-privileges")  # --security-opt no-new-privileges
    # docker's default seccomp profile is what RuntimeDefault means for a docker/containerd runtime.
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}

    volumes = {v["name"]: v for v in pod["volumes"]}
    kwargs["tmpfs"] = {}
    for mount in container["volumeMounts"]:
        empty_dir = volumes[mount["name"]].get("emptyDir")
        if empty_dir is not None:
            assert empty_dir.get("medium") == "Memory", "a disk emptyDir has no docker run twin here"
            options = f"size={quantity_to_docker(empty_dir['sizeLimit'])}" if "sizeLimit" in empty_dir else ""
            kwargs["tmpfs"][mount["mountPath"]] = options  # --tmpfs /tmp:size=...

    limits = container["resources"]["limits"]
    kwargs["mem_limit"] = quantity_to_docker(limits["memory"])  # --memory
    cpus = float(limits["cpu"][:-1]) / 1000 if limits["cpu"].endswith("m") else float(limits["cpu"])
    kwargs["nano_cpus"] = int(cpus * 1e9)  # --cpus
    kwargs["environment"] = {e["name"]: e["value"] for e in container.get("env", [])}
    return kwargs


def probe_paths(deployment: dict) -> set[tuple[str, int]]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {(container[p]["httpGet"]["path"], container[p]["httpGet"]["port"])
            for p in ("readinessProbe", "livenessProbe")}


def run_constrained(docker_client, image: str, kwargs: dict, ports: list[int], volumes: dict | None = None):
    return docker_client.containers.run(
        image, detach=True, ports={f"{p}/tcp": ("127.0.0.1", None) for p in ports},
        volumes=volumes or {}, **kwargs)


def published(container, port: int) -> str:
    container.reload()
    return container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"][0]["HostPort"]


def wait_for(url: str, container, **kwargs) -> requests.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return requests.get(url, timeout=2, **kwargs)
        except requests.ConnectionError:
            container.reload()
            if container.status == "exited":
                break
            time.sleep(0.2)
    pytest.fail(f"{url} never answered:\n{container.logs().decode()[-3000:]}", pytrace=False)


def a_mirrored_wheel(base_url: str) -> tuple[str, str]:
    lock = requests.get(f"{base_url}/lock.json", timeout=10).json()
    entry = next(f for f in lock["files"] if f["filename"].startswith("pip_audit-"))
    return entry["filename"], entry["sha256"]


def test_base_deployment_constraints_healthz_and_a_download(mirror_image, docker_client):
    deployment = load(KUBERNETES / "base" / "deployment.yaml")
    kwargs = docker_run_kwargs(deployment)
    assert kwargs["tmpfs"].keys() == {"/tmp"}
    container = run_constrained(docker_client, mirror_image, kwargs, [8080])
    try:
        host = container.attrs["HostConfig"]
        assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        base_url = f"http://127.0.0.1:{published(container, 8080)}"
        for path, port in probe_paths(deployment):
            assert port == 8080
            response = wait_for(f"{base_url}{path}", container)
            assert (response.status_code, response.text) == (200, "ok")
        filename, sha256 = a_mirrored_wheel(base_url)
        download = requests.get(f"{base_url}/packages/{filename}", timeout=30)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == sha256
        exit_code, output = container.exec_run(["/bin/sh", "-c", "id -u; touch /etc/x 2>&1 || echo read-only"])
        assert output.decode().split("\n", 1)[0] == kwargs["user"].split(":")[0]
        assert "read-only" in output.decode()
    finally:
        container.remove(force=True)


def test_tls_overlay_constraints_with_a_secret_like_mount(mirror_image, docker_client, tmp_path):
    """The TLS component on top of the base: the pair mounted read-only, mode and
    group as a Secret volume with fsGroup gives them, probes still on plain 8080."""
    base = load(KUBERNETES / "base" / "deployment.yaml")
    patch = load(KUBERNETES / "components" / "tls" / "deployment.yaml")
    (patch_container,) = patch["spec"]["template"]["spec"]["containers"]
    (mount,) = patch_container["volumeMounts"]
    (volume,) = patch["spec"]["template"]["spec"]["volumes"]
    (base_container,) = base["spec"]["template"]["spec"]["containers"]
    base_container["env"] = patch_container["env"]
    kwargs = docker_run_kwargs(base)
    assert kwargs["environment"] == {"MIRROR_TLS": "on"}

    tls = tmp_path / "tls"
    tls.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-days", "1", "-subj", "/CN=pypi-mirror", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(tls / "tls.key"), "-out", str(tls / "tls.crt")],
        check=True, capture_output=True)
    fs_group = int(kwargs["group_add"][0])
    for name in ("tls.crt", "tls.key"):
        os.chown(tls / name, 0, fs_group)
        os.chmod(tls / name, volume["secret"]["defaultMode"])
    os.chmod(tls, 0o755)

    container = run_constrained(docker_client, mirror_image, kwargs, [8080, 8443],
                                {str(tls): {"bind": mount["mountPath"], "mode": "ro"}})
    try:
        plain = f"http://127.0.0.1:{published(container, 8080)}"
        for path, port in probe_paths(base):
            assert wait_for(f"{plain}{path}", container).status_code == 200
        https = f"https://127.0.0.1:{published(container, 8443)}"
        response = wait_for(f"{https}/healthz", container, verify=str(tls / "tls.crt"))
        assert response.status_code == 200
        filename, sha256 = a_mirrored_wheel(plain)
        download = requests.get(f"{https}/packages/{filename}", timeout=30, verify=str(tls / "tls.crt"))
        assert hashlib.sha256(download.content).hexdigest() == sha256
        # Over HTTPS the served pip.conf trusts nothing by hand: verification stays on.
        pip_conf = requests.get(f"{https}/pip.conf", timeout=10, verify=str(tls / "tls.crt")).text
        assert f"index-url = {https}/simple/" in pip_conf and "trusted-host" not in pip_conf
    finally:
        container.remove(force=True)


def test_deployment_image_is_the_one_the_build_tags():
    bake = (REPO / "docker-bake.hcl").read_text()
    (container,) = load(KUBERNETES / "base" / "deployment.yaml")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "pypi-mirror:latest"
    assert 'tags     = ["pypi-mirror:${TAG}"]' in bake
