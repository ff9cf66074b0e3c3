"""What can be checked of the Docker image and the compose file without a Docker engine."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from itertools import takewhile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
BIN = Path(sys.executable).parent


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_services_and_files_exist() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "minio", "minio-init", "migrate", "api-1", "api-2", "pipeline",
            "dagster-webserver", "dagster-daemon", "proxy"} <= set(services)
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (COMPOSE.parent / source).exists(), source
        build = service.get("build")
        if build:
            assert (COMPOSE.parent / build["context"] / build["dockerfile"]).is_file()
    for secret in compose["secrets"].values():
        assert (COMPOSE.parent / secret["file"]).parent.is_dir()


def test_every_app_command_is_an_installed_program() -> None:
    for name, service in _compose()["services"].items():
        if service.get("image", "").startswith("${MEET_IMAGE"):
            program = service["command"][0]
            assert (BIN / program).exists(), f"{name}: {program} is not installed"
            if program == "meet-archive":
                # The subcommand parses (--help exits 0 without doing anything).
                words = list(takewhile(lambda w: not w.startswith("-"), service["command"][1:]))
                result = subprocess.run([str(BIN / program), *words, "--help"],
                                        capture_output=True, text=True, timeout=60)
                assert result.returncode == 0, result.stderr


def test_workspace_files_reference_the_code_location() -> None:
    deploy_workspace = yaml.safe_load((ROOT / "deploy" / "workspace.yaml").read_text())
    assert deploy_workspace["load_from"][0]["grpc_server"]["port"] == {"env": "MEET_CODE_SERVER_PORT"}
    assert _compose()["x-app"]["environment"]["MEET_CODE_SERVER_PORT"] == "4000"
    local = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    assert local["load_from"][0]["python_module"]["module_name"] == "meet_pipeline.definitions"
    code_server = _compose()["services"]["pipeline"]["command"]
    assert "meet_pipeline.definitions" in code_server


def test_dockerfile_copies_only_existing_paths_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        match = re.match(r"COPY (?:--chown=\S+ )?(?!--from)(.+) \S+$", line)
        if match:
            for source in match.group(1).split():
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    assert re.search(r"^USER meet$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile
    assert dockerfile.count("FROM ") >= 2


def _api_services() -> dict[str, dict]:
    return {name: service for name, service in _compose()["services"].items()
            if service.get("command", [None, None])[:2] == ["meet-archive", "api"]}


def test_two_api_replicas_behind_caddy() -> None:
    """compose runs the API twice, alike; Caddy balances over exactly those replicas, on the
    port they listen on, and checks their readiness."""
    services = _api_services()
    assert sorted(services) == ["api-1", "api-2"]
    one, two = services["api-1"], services["api-2"]
    assert one == two  # the same image, command, environment and dependencies
    command = one["command"]
    port = command[command.index("--port") + 1]
    assert one["expose"] == [port] and command[command.index("--host") + 1] == "0.0.0.0"
    assert one["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/health/ready" in " ".join(one["healthcheck"]["test"])
    # The replicas share the one database: the rate limit and idempotency are in it.
    assert one["environment"]["MEET_DATABASE_URL"].startswith("postgresql+psycopg://")
    proxy = _compose()["services"]["proxy"]
    assert set(services) <= set(proxy["depends_on"])
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    upstreams = re.findall(r"^\s*reverse_proxy (api[^{\n]*?)\s*\{?$", caddyfile, re.M)
    assert len(upstreams) == 1
    assert sorted(upstreams[0].split()) == [f"{name}:{port}" for name in sorted(services)]
    assert re.search(r"^\s*health_uri /health/ready$", caddyfile, re.M)
    for name in re.findall(r"reverse_proxy ([\w-]+):\d+", caddyfile):
        assert name in _compose()["services"], f"Caddy proxies to unknown service {name}"


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed")
def test_caddyfile_is_valid(tmp_path: Path) -> None:
    env = {"API_HOST": "api.localhost", "DAGSTER_HOST": "dagster.localhost",
           "DAGSTER_UI_USER": "op", "DAGSTER_UI_PASSWORD_HASH": "$2a$14$" + "x" * 53,
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["caddy", "validate", "--config", str(ROOT / "deploy" / "Caddyfile"),
                             "--adapter", "caddyfile"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]


def _locked(lock: str) -> dict[str, str]:
    pins = (line.split("==") for line in (ROOT / lock).read_text().splitlines() if "==" in line)
    return {name.lower(): version for name, version in pins}


def test_image_installs_the_runtime_set_without_the_sandbox() -> None:
    """The image gets the runtime lock and the product's packages; no emulator, moto or test tools."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-r requirements.lock" in dockerfile and "requirements-dev.lock" not in dockerfile
    copied = {m.group(1) for m in re.finditer(r"^COPY (?:--chown=\S+ )?(\S+) ", dockerfile, re.M)}
    assert {"meet_core", "meet_api", "meet_pipeline", "meet_cli"} <= copied
    assert "meet_sandbox" not in copied
    runtime, dev = _locked("requirements.lock"), _locked("requirements-dev.lock")
    assert runtime.items() < dev.items()  # the dev lock pins the same versions, and more
    assert not runtime.keys() & {"moto", "pytest", "mypy", "ruff", "schemathesis", "hypothesis", "pip-audit"}
    assert {"moto", "pytest"} <= dev.keys()
