"""What can be checked of the Docker image and the compose file without a Docker engine."""

from __future__ import annotations

import os
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
            if service.get("entrypoint") == ["/bin/sh", "-c"]:
                # A shell line: each of its commands starts with an installed program or a
                # core utility of the image (install, cp).
                for part in service["command"][0].split("&&"):
                    program = part.split()[0]
                    assert (BIN / program).exists() or shutil.which(program), f"{name}: {program}"
                continue
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


# --- Dagster at scale: instance configs, run launchers, pools (issue 15) -------------------

INSTANCE_CONFIGS = ("dagster.yaml", "deploy/dagster.yaml", "deploy/dagster-docker.yaml",
                    "deploy/dagster-ecs.yaml")
SCALE_CONFIGS = {"deploy/dagster-docker.yaml": "DockerRunLauncher",
                 "deploy/dagster-ecs.yaml": "EcsRunLauncher"}
PG_ENV = {"DAGSTER_PG_HOST": "postgres", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "meet",
          "DAGSTER_PG_PASSWORD": "secret", "DAGSTER_PG_DB": "dagster"}


def _instance_config(name: str, tmp_path: Path) -> dict:
    """The file as Dagster's own loader validates it (schema, pools, queue conflicts)."""
    from dagster._core.instance.config import dagster_instance_config

    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / name, home / "dagster.yaml")
    config, custom_class = dagster_instance_config(str(home))
    assert custom_class is None
    return dict(config)


def _rehydrate(section: dict, as_type: type) -> object:
    """Instantiate a configurable class the way DagsterInstance does: its config validated
    against the class's own schema first (an unknown or mistyped key raises)."""
    from dagster._serdes import ConfigurableClassData

    data = ConfigurableClassData(section["module"], section["class"],
                                 yaml.safe_dump(section.get("config") or {}))
    return data.rehydrate(as_type=as_type)


@pytest.mark.parametrize("name", INSTANCE_CONFIGS)
def test_instance_configs_pass_dagsters_validation(name: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._config import process_config
    from dagster._core.launcher import RunLauncher
    from dagster._core.run_coordinator import RunCoordinator

    for key, value in {**PG_ENV, "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(key, value)
    if name == "deploy/dagster-docker.yaml":
        pytest.importorskip("dagster_docker", reason="dagster-docker is in the deploy-docker extra only")
    config = _instance_config(name, tmp_path)
    assert type(_rehydrate(config["run_coordinator"], RunCoordinator)).__name__ == "QueuedRunCoordinator"
    if name in SCALE_CONFIGS:
        launcher = _rehydrate(config["run_launcher"], RunLauncher)
        assert type(launcher).__name__ == SCALE_CONFIGS[name]
        if name == "deploy/dagster-ecs.yaml":
            assert launcher.secrets_tags == []  # only the listed secrets reach a run
            assert launcher.include_sidecars is False
    if "storage" in config:
        from dagster_postgres import DagsterPostgresStorage

        result = process_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
        assert result.success, result.errors
        assert result.value["postgres_db"]["hostname"] == "postgres"  # the env var was read
    pools = config["concurrency"]["pools"]
    assert 1 <= pools["default_limit"] <= 2


def test_dagsters_validation_rejects_a_mistyped_launcher_key(tmp_path: Path) -> None:
    """The check above is real: a misspelt launcher option fails Dagster's validation."""
    from dagster._core.errors import DagsterInvalidConfigError
    from dagster._core.launcher import RunLauncher

    config = yaml.safe_load((ROOT / "deploy" / "dagster-ecs.yaml").read_text())
    config["run_launcher"]["config"]["include_sidecar"] = False
    with pytest.raises(DagsterInvalidConfigError):
        _rehydrate(config["run_launcher"], RunLauncher)
    broken = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    broken["concurrency"]["pools"]["granularity"] = "step"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(DagsterInvalidConfigError, match="granularity"):
        _instance_config(str(tmp_path / "bad.yaml"), tmp_path)


def test_scale_instance_configs_differ_from_the_base_only_in_the_run_launcher() -> None:
    base = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    assert "run_launcher" not in base  # runs as processes of the code server there
    for name in SCALE_CONFIGS:
        scaled = yaml.safe_load((ROOT / name).read_text())
        assert scaled.pop("run_launcher")
        assert scaled == base, f"{name} drifted from deploy/dagster.yaml"


def test_docker_run_launcher_matches_compose() -> None:
    compose = _compose()
    services = compose["services"]
    launcher = yaml.safe_load((ROOT / "deploy" / "dagster-docker.yaml").read_text())["run_launcher"]["config"]
    # Run containers join compose's default network (no custom default network declared).
    assert launcher["network"] == f"{compose['name']}_default"
    assert "default" not in compose.get("networks", {})
    # Every setting of the app reaches the run container; nothing passed is undefined.
    app_env = compose["x-app"]["environment"]
    passed = set(launcher["env_vars"])
    assert passed <= app_env.keys()
    assert app_env.keys() - passed == {"MEET_CODE_SERVER_HOST", "MEET_CODE_SERVER_PORT"}
    # The Google key: a named volume that compose declares under that exact name, filled by
    # a one-shot service, mounted where GOOGLE_APPLICATION_CREDENTIALS points.
    (mount,) = launcher["container_kwargs"]["volumes"]
    volume_name, target, mode = mount.split(":")
    assert mode == "ro"
    declared = {v.get("name") if v else None: k for k, v in compose["volumes"].items()}
    key = declared[volume_name]
    assert app_env["GOOGLE_APPLICATION_CREDENTIALS"].startswith(target + "/")
    init = services["google-credentials"]
    assert f"{key}:/credentials" in init["volumes"]
    filename = app_env["GOOGLE_APPLICATION_CREDENTIALS"].rsplit("/", 1)[1]
    assert f"/credentials/{filename}" in init["command"][0]
    assert "google_service_account" in init.get("secrets", compose["x-app"]["secrets"])
    assert services["dagster-daemon"]["depends_on"]["google-credentials"]
    # The image of each run is the code location's (DAGSTER_CURRENT_IMAGE), i.e. the app's.
    assert services["pipeline"]["environment"]["DAGSTER_CURRENT_IMAGE"] == compose["x-app"]["image"]
    # This instance file is DAGSTER_HOME's dagster.yaml (the Dockerfile's) in every Dagster
    # service; the daemon and webserver get the Docker socket and its group.
    dagster_home = re.search(r"DAGSTER_HOME=(\S+)", (ROOT / "Dockerfile").read_text()).group(1)
    for name in ("pipeline", "dagster-webserver", "dagster-daemon", "dagster-pools"):
        assert f"./dagster-docker.yaml:{dagster_home}/dagster.yaml:ro" in services[name]["volumes"], name
    for name in ("dagster-webserver", "dagster-daemon"):
        assert "/var/run/docker.sock:/var/run/docker.sock" in services[name]["volumes"]
        assert services[name]["group_add"]


def test_ecs_run_launcher_passes_the_same_settings_as_docker() -> None:
    docker = yaml.safe_load((ROOT / "deploy" / "dagster-docker.yaml").read_text())["run_launcher"]["config"]
    ecs = yaml.safe_load((ROOT / "deploy" / "dagster-ecs.yaml").read_text())["run_launcher"]["config"]
    ecs_names = {v.split("=", 1)[0] for v in ecs["env_vars"]} | {s["name"] for s in ecs["secrets"]}
    # On AWS the task role signs S3 requests (no keys) and S3 is the default endpoint; the
    # key file is written by the entrypoint from the secret.
    assert set(docker["env_vars"]) - {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                                      "MEET_S3_ENDPOINT_URL"} == ecs_names - {"MEET_GOOGLE_SERVICE_ACCOUNT_JSON"}
    for secret in ecs["secrets"]:
        assert secret["valueFrom"].startswith("arn:aws:secretsmanager:")
        assert ":secret:meet-archive/" in secret["valueFrom"]  # the IAM policy's resource


def test_entrypoint_writes_the_google_key_from_the_environment(tmp_path: Path) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    entrypoint = re.search(r'^ENTRYPOINT \["/app/(\S+)"\]$', dockerfile, re.M).group(1)
    script = ROOT / entrypoint
    assert os.access(script, os.X_OK)
    target = tmp_path / "secrets" / "key.json"
    show = ["/bin/sh", "-c",
            'cat "$GOOGLE_APPLICATION_CREDENTIALS"; echo "|${MEET_GOOGLE_SERVICE_ACCOUNT_JSON:-unset}"']
    env = {"PATH": "/usr/bin:/bin", "GOOGLE_APPLICATION_CREDENTIALS": str(target),
           "MEET_GOOGLE_SERVICE_ACCOUNT_JSON": '{"type": "service_account"}'}
    result = subprocess.run([str(script), *show], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"type": "service_account"}|unset\n'  # written, then unset
    assert target.stat().st_mode & 0o777 == 0o600
    target.unlink()
    del env["MEET_GOOGLE_SERVICE_ACCOUNT_JSON"]
    result = subprocess.run([str(script), "/bin/sh", "-c", "echo ran"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.stdout == "ran\n" and not target.exists()  # compose/K8s: the file is mounted


def test_pool_limits_service_sets_each_pool(tmp_path: Path) -> None:
    """dagster-pools' own command, run against a throw-away instance, sets both pools."""
    import dagster as dg

    service = _compose()["services"]["dagster-pools"]
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")  # SQLite: same CLI, same tables
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "DAGSTER_HOME": str(home),
           "MEET_POOL_GOOGLE": "1", "MEET_POOL_S3": "3"}
    command = service["command"][0].replace("$$", "$")
    assert service["entrypoint"] == ["/bin/sh", "-c"]
    result = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert storage.get_concurrency_info("google").slot_count == 1
        assert storage.get_concurrency_info("s3").slot_count == 3
    defaults = service["environment"]
    assert defaults["MEET_POOL_GOOGLE"] == "${MEET_POOL_GOOGLE:-1}"
    assert re.fullmatch(r"\$\{MEET_POOL_S3:-\d+\}", defaults["MEET_POOL_S3"])


def test_compose_references_resolve() -> None:
    """depends_on names services, volumes and secrets are declared, every variable is set
    in .env.example or has a default."""
    compose = _compose()
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith(("./", "/")):
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], f"{name}: undeclared secret {secret}"
    example = (COMPOSE.parent / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    text = COMPOSE.read_text()
    for match in re.finditer(r"(?<!\$)\$\{([A-Z_]+)(:?[-?][^}]*)?\}", text):
        name, modifier = match.group(1), match.group(2) or ""
        assert name in documented or modifier.startswith((":-", "-")), \
            f"${{{name}}} is neither in .env.example nor defaulted"


@pytest.mark.parametrize("name", sorted(SCALE_CONFIGS))
def test_scale_instances_load_on_postgres_with_their_launcher(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole DagsterInstance from each file on a throw-away PostgreSQL database: storage
    created, queue and pool settings read, the launcher instantiated (no engine, no AWS call)."""
    import dagster as dg

    from tests.databases import ENGINES, dagster_postgres_env, temporary_database

    if "postgresql" not in ENGINES:
        pytest.skip("PostgreSQL is not among MEET_TEST_ENGINES")
    if name == "deploy/dagster-docker.yaml":
        pytest.importorskip("dagster_docker", reason="dagster-docker is in the deploy-docker extra only")
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(ROOT / name, home / "dagster.yaml")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with temporary_database("postgresql", tmp_path) as url:
        for variable, value in dagster_postgres_env(url).items():
            monkeypatch.setenv(variable, value)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_launcher).__name__ == SCALE_CONFIGS[name]
            assert instance.get_runs() == []
            queue = instance.get_concurrency_config().run_queue_config
            assert queue.max_concurrent_runs == 10
            # Runs whose pool steps could not start stay queued, one run beyond the slots.
            assert queue.should_block_op_concurrency_limited_runs
            assert queue.op_concurrency_slot_buffer == 1
            pools = instance.get_concurrency_config().pool_config
            assert pools.pool_granularity.value == "op" and pools.default_pool_limit == 2
            instance.event_log_storage.set_concurrency_slots("google", 1)
            assert instance.event_log_storage.get_concurrency_info("google").slot_count == 1


def test_every_pool_the_assets_use_gets_a_limit_from_dagster_pools() -> None:
    """No step falls back to default_limit unnoticed: each pool named in the code location
    is one that compose's dagster-pools job sets."""
    from meet_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    used = set().union(*(graph.get(key).pools or set() for key in graph.get_all_asset_keys()))
    command = _compose()["services"]["dagster-pools"]["command"][0]
    configured = set(re.findall(r"dagster instance concurrency set (\S+) ", command))
    assert "google" in used
    assert used <= configured, f"pools without a limit: {used - configured}"


@pytest.mark.skipif(os.geteuid() != 0, reason="the google-credentials job runs as root (chown)")
def test_google_credentials_job_copies_the_key_for_the_app_user(tmp_path: Path) -> None:
    service = _compose()["services"]["google-credentials"]
    assert service["user"] == "0:0"
    uid = re.search(r"useradd .*--uid (\d+)", (ROOT / "Dockerfile").read_text()).group(1)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "credentials").mkdir()
    (tmp_path / "secrets" / "google_service_account").write_text('{"type": "service_account"}')
    command = service["command"][0].replace("/run/secrets/", f"{tmp_path}/secrets/").replace(
        "/credentials/", f"{tmp_path}/credentials/")
    result = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    copied = (tmp_path / "credentials" / "google_service_account").stat()
    assert (copied.st_uid, copied.st_mode & 0o777) == (int(uid), 0o400)  # readable by the app user only
