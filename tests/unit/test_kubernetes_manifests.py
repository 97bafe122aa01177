"""deploy/kubernetes: rendered by kustomize (kubectl kustomize, as `kubectl apply -k` does)
and validated offline against the Kubernetes OpenAPI schemas (kubernetes-validate, strict:
unknown fields are errors). No cluster: what the pods would do under this
securityContext is tested with docker in tests/integration/test_kubernetes.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
KUBERNETES_VERSION = kubernetes_validate.latest_version()
KUSTOMIZATIONS = ["base", "overlays/tls", "overlays/auth", "overlays/tls-auth"]


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail("kubectl (>= 1.21, for kustomize components) is needed to render deploy/kubernetes: "
                    "install it from your distribution or the Kubernetes release", pytrace=False)
    return path


def render(directory: Path) -> list[dict]:
    result = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True)
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    assert "deprecated" not in result.stderr.lower(), result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs: list[dict]) -> dict[str, dict]:
    kinds = {doc["kind"]: doc for doc in docs}
    assert len(kinds) == len(docs), [doc["kind"] for doc in docs]
    return kinds


def container(docs: list[dict]) -> dict:
    (only,) = by_kind(docs)["Deployment"]["spec"]["template"]["spec"]["containers"]
    return only


def volume_of_mount(docs: list[dict], mount_path: str) -> dict:
    pod = by_kind(docs)["Deployment"]["spec"]["template"]["spec"]
    (mount,) = [m for m in container(docs)["volumeMounts"] if m["mountPath"] == mount_path]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    return volume


@pytest.fixture(scope="module", params=KUSTOMIZATIONS)
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, render(KUBERNETES / request.param)


def test_every_rendered_object_is_valid_against_the_kubernetes_schemas(rendered):
    name, docs = rendered
    assert sorted(doc["kind"] for doc in docs) == ["Deployment", "PodDisruptionBudget", "Service"]
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {doc['kind']} at {'.'.join(map(str, exc.path))}: {exc.message}", pytrace=False)


def test_deployment_two_replicas_probes_resources_and_locked_down_security_context(rendered):
    _, docs = rendered
    deployment = by_kind(docs)["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    main = container(docs)
    assert main["image"] == "pypi-mirror:latest"
    # Probes stay on plain HTTP /healthz in every overlay (never behind TLS or auth).
    for probe in ("readinessProbe", "livenessProbe"):
        assert main[probe]["httpGet"] == {"path": "/healthz", "port": 8080}, probe
    assert set(main["resources"]["requests"]) == {"cpu", "memory"}
    assert set(main["resources"]["limits"]) == {"cpu", "memory"}
    assert main["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 101,
        "runAsGroup": 101,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert volume_of_mount(docs, "/tmp")["emptyDir"]["medium"] == "Memory"


def test_service_and_disruption_budget_select_the_deployments_pods(rendered):
    _, docs = rendered
    kinds = by_kind(docs)
    labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for selector in (kinds["Service"]["spec"]["selector"],
                     kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()
    assert kinds["PodDisruptionBudget"]["spec"]["minAvailable"] < kinds["Deployment"]["spec"]["replicas"]
    ports = {p["name"]: p for p in kinds["Service"]["spec"]["ports"]}
    container_ports = {p["name"]: p["containerPort"] for p in container(docs)["ports"]}
    assert container_ports["http"] == 8080 and ports["http"]["targetPort"] == "http"
    assert all(p["targetPort"] in container_ports for p in ports.values())


def test_tls_overlay_mounts_the_tls_secret_where_the_image_looks_and_serves_8443():
    docs = render(KUBERNETES / "overlays" / "tls")
    main = container(docs)
    assert {"name": "https", "containerPort": 8443, "protocol": "TCP"} in main["ports"]
    assert {"name": "MIRROR_TLS", "value": "on"} in main["env"]
    volume = volume_of_mount(docs, "/etc/pypi-mirror/tls")
    assert volume["secret"]["secretName"] == "pypi-mirror-tls"
    # A kubernetes.io/tls Secret holds tls.crt and tls.key: the image's default paths.
    assert "items" not in volume["secret"]
    service_ports = {p["name"]: p for p in by_kind(docs)["Service"]["spec"]["ports"]}
    assert service_ports["https"]["port"] == 443 and service_ports["https"]["targetPort"] == "https"


def test_auth_overlay_mounts_the_htpasswd_secret_where_the_image_looks():
    docs = render(KUBERNETES / "overlays" / "auth")
    volume = volume_of_mount(docs, "/etc/pypi-mirror/auth")
    assert volume["secret"]["secretName"] == "pypi-mirror-htpasswd"
    assert volume["secret"]["items"] == [{"key": "htpasswd", "path": "htpasswd"}]
    assert [p["containerPort"] for p in container(docs)["ports"]] == [8080]


def test_tls_auth_overlay_combines_both_components():
    docs = render(KUBERNETES / "overlays" / "tls-auth")
    mounts = {m["mountPath"] for m in container(docs)["volumeMounts"]}
    assert mounts == {"/tmp", "/etc/pypi-mirror/tls", "/etc/pypi-mirror/auth"}
    assert {p["containerPort"] for p in container(docs)["ports"]} == {8080, 8443}


def test_secret_mount_paths_match_the_entrypoint_hooks_defaults():
    """The overlays mount where nginx/entrypoint.d looks when nothing is configured."""
    tls_hook = (REPO / "nginx" / "entrypoint.d" / "20-tls.sh").read_text()
    auth_hook = (REPO / "nginx" / "entrypoint.d" / "30-basic-auth.sh").read_text()
    assert re.search(r"MIRROR_TLS_CERT:-/etc/pypi-mirror/tls/tls\.crt", tls_hook)
    assert re.search(r"MIRROR_TLS_KEY:-/etc/pypi-mirror/tls/tls\.key", tls_hook)
    assert "/etc/pypi-mirror/auth/htpasswd" in auth_hook
