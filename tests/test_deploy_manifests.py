"""The deployment files agree with each other and with the code they deploy: a non-root,
multi-stage image with a HEALTHCHECK; Kubernetes probes on the paths and port the health
plugin serves; the Secret wired into the env; the ConfigMap's TOML mounted where the
container reads it, and valid for the installed plugins."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.config import AppConfig
from ai_trading_core.runner import host_for_config, validate_config

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def _yaml(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((DEPLOY / "k8s" / name).read_text())
    assert isinstance(doc, dict)
    return doc


def _stages() -> list[list[tuple[str, str]]]:
    """Dockerfile instructions (keyword, arguments) per build stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword.upper(), rest.strip()))
    return stages


@pytest.fixture(scope="module")
def deployment() -> dict[str, Any]:
    return _yaml("deployment.yaml")


@pytest.fixture(scope="module")
def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _health_defaults() -> tuple[int, list[str]]:
    """The health plugin's default port, and the probe paths its server answers (not 404)."""
    from ai_trading_health.monitor import HealthMonitor
    from ai_trading_health.params import HealthParams

    params = HealthParams()
    monitor = HealthMonitor(params, SimulatedClock(0), lambda: None)
    served = []
    status: list[str] = []
    for path in ("/livez", "/readyz"):
        monitor.app({"PATH_INFO": path}, lambda s, headers: status.append(s))
        if not status[-1].startswith("404"):
            served.append(path)
    return params.port, served


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    stages = _stages()
    assert len(stages) >= 2
    builder, final = stages[0], stages[-1]
    assert any(k == "RUN" and "pip wheel" in a for k, a in builder)
    assert any("from=builder" in a for k, a in final if k in ("COPY", "RUN")), "runtime must take the builder's wheels"
    assert not any(k == "COPY" and not a.startswith("--from") for k, a in final), "no sources in the runtime stage"
    arg_default = dict(re.findall(r"ARG (\w+)=(\S+)", (DEPLOY / "Dockerfile").read_text()))
    assert arg_default["PYTHON_IMAGE"] == "python:3.11-slim"
    users = [a for k, a in final if k == "USER"]
    assert users, "final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # the user exists: created in the final stage with that uid
    assert any(k == "RUN" and f"--uid {user}" in a for k, a in final)
    port, served = _health_defaults()
    checks = [a for k, a in final if k == "HEALTHCHECK"]
    assert len(checks) == 1
    assert f"127.0.0.1:{port}/livez" in checks[0] and "/livez" in served
    assert "'Bearer ' + os.environ['AI_TRADING_CREDENTIALS__HEALTH_TOKEN']" in checks[0]
    assert ("EXPOSE", str(port)) in final


def test_dockerfile_bakes_in_every_plugin_the_config_loads() -> None:
    baked = re.search(r'ARG PLUGINS="([^"]+)"', (DEPLOY / "Dockerfile").read_text())
    assert baked is not None
    entry_points = {}
    for name in baked.group(1).split():
        project = tomllib.loads((ROOT / "plugins" / f"ai-trading-{name}" / "pyproject.toml").read_text())
        entry_points.update(project["project"]["entry-points"]["ai_trading"])
    config = _config()
    assert set(config.plugins.load or []) <= set(entry_points)


def _config() -> AppConfig:
    cm = _yaml("configmap.yaml")
    return AppConfig.model_validate(tomllib.loads(cm["data"]["config.toml"]))


def test_configmap_config_is_valid_and_serves_health_on_the_probed_port() -> None:
    config = _config()
    validate_config(config, host_for_config(config))
    health = [r for r in config.risk if r.name == "health"]
    assert len(health) == 1
    port, _ = _health_defaults()
    assert health[0].params.get("port", port) == port
    assert health[0].params["host"] == "0.0.0.0"  # reachable by in-cluster monitors, not only inside the pod
    # beyond loopback the endpoint needs its bearer token, which the Secret provides
    from ai_trading_core.errors import ConfigError
    from ai_trading_core.registry import BuildContext
    from ai_trading_health.params import HealthParams
    from ai_trading_health.plugin import build_health

    with pytest.raises(ConfigError, match="beyond loopback"):
        build_health(HealthParams(**health[0].params), BuildContext(component_id="health"))
    assert "health-token" in _yaml("secret.yaml")["stringData"]
    assert str(config.run.output_dir).startswith("/var/lib/ai-trading")
    assert str(config.run.state_dir).startswith("/var/lib/ai-trading")


def test_probes_hit_the_health_endpoint(container: dict[str, Any], tmp_path: Path) -> None:
    """The exec probes, run against a real health endpoint that requires the bearer token: they
    pass with the token the container's env takes from the Secret, and fail without it."""
    import os
    import subprocess
    import sys

    from pydantic import SecretStr

    from ai_trading_core.registry import BuildContext
    from ai_trading_health.params import HealthParams
    from ai_trading_health.plugin import build_health

    port, served = _health_defaults()
    assert {p["containerPort"] for p in container["ports"]} == {port}
    env_names = {e["name"] for e in container["env"]}
    token = "probe-token-0123456789abcdef"
    ctx = BuildContext(
        component_id="health", state_dir=tmp_path, credentials={"health_token": SecretStr(token)}, clock=SimulatedClock(0)
    )
    monitor = build_health(HealthParams(host="0.0.0.0", port=0), ctx)
    monitor.started(bar_seconds=60)
    try:
        for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
            command = container[probe]["exec"]["command"]
            assert command[:2] == ["python", "-c"] and f"127.0.0.1:{port}{path}" in command[2] and path in served
            assert "AI_TRADING_CREDENTIALS__HEALTH_TOKEN" in command[2]
            assert "AI_TRADING_CREDENTIALS__HEALTH_TOKEN" in env_names
            code = command[2].replace(f":{port}/", f":{monitor.port}/")
            base = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_")}
            def probe_with(value: str, code: str = code) -> subprocess.CompletedProcess[str]:
                env = {**base, "AI_TRADING_CREDENTIALS__HEALTH_TOKEN": value}
                return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)

            with_token, wrong = probe_with(token), probe_with("x" * 20)
            assert wrong.returncode != 0 and "401" in wrong.stderr
            if path == "/livez":  # /readyz is 503 here (no bar yet): the probe fails, as it should
                assert with_token.returncode == 0, with_token.stderr
            else:
                assert with_token.returncode != 0 and "503" in with_token.stderr
    finally:
        monitor.close()


def test_runs_as_non_root_with_resources(deployment: dict[str, Any], container: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    final_user = [a for k, a in _stages()[-1] if k == "USER"][-1].split(":")[0]
    assert str(pod["securityContext"]["runAsUser"]) == final_user
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    # one trading process at a time
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"


def test_secret_is_referenced_by_the_env(container: dict[str, Any]) -> None:
    from ai_trading_alpaca.config import CREDENTIAL_KEY, CREDENTIAL_SECRET

    secret = _yaml("secret.yaml")
    assert secret["kind"] == "Secret"
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
            if "secretKeyRef" in e.get("valueFrom", {})}
    assert refs
    for ref in refs.values():
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    # the env names are the config's credential names (AI_TRADING_CREDENTIALS__<NAME>)
    names = {n.removeprefix("AI_TRADING_CREDENTIALS__").lower() for n in refs}
    assert {CREDENTIAL_KEY, CREDENTIAL_SECRET} <= names
    assert all(v.startswith("REPLACE_WITH_") for v in secret["stringData"].values()), "placeholders only"


def test_configmap_is_mounted_where_the_container_reads_its_config(deployment: dict[str, Any],
                                                                     container: dict[str, Any]) -> None:
    cm = _yaml("configmap.yaml")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = [m for m in container["volumeMounts"] if "configMap" in volumes[m["name"]]]
    assert len(mounts) == 1
    volume = volumes[mounts[0]["name"]]["configMap"]
    assert volume["name"] == cm["metadata"]["name"]
    (item,) = volume["items"]
    assert item["key"] == "config.toml" and item["key"] in cm["data"]
    mounted_at = f"{mounts[0]['mountPath'].rstrip('/')}/{item['path']}"
    assert container["args"][:2] == ["run", mounted_at]
    # the image's default command reads the same file
    cmd = [a for k, a in _stages()[-1] if k == "CMD"][-1]
    assert json.loads(cmd)[:2] == ["run", mounted_at]
