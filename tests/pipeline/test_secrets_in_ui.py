"""Secrets reach the Dagster UI as variable names only: the production code location is
served by a real ``dagster-webserver`` and its GraphQL API is asked for the resources'
configured values."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from meet_pipeline.home import prepare_dagster_home
from meet_sandbox.children import ChildProcesses, free_port
from tests.databases import ENGINES, temporary_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif("postgresql" not in ENGINES, reason="PostgreSQL half only"),
]

PASSWORD = "s3cr3t-pw-7f2c"  # noqa: S105 - a test value, looked for in every answer
WEBHOOK_SECRET = "whsec-2b9e41d07c5a4f3e"  # noqa: S105
AWS_SECRET = "aws-secret-9d81c6e2ab"  # noqa: S105
AWS_KEY_ID = "AKIATESTKEY0042"

RESOURCES = """
{ workspaceOrError { ... on Workspace { locationEntries { name
    locationOrLoadError { __typename ... on RepositoryLocation { repositories { name
      allTopLevelResourceDetails { name configuredValues { key value type } } } }
      ... on PythonError { message } } } } } }
"""
ENV_VARS = """
{ utilizedEnvVarsOrError(repositorySelector: {repositoryName: "__repository__",
    repositoryLocationName: "%s"}) {
    ... on EnvVarWithConsumersList { results { envVarName envVarConsumers { type name } } }
    ... on PythonError { message } } }
"""


def graphql(ui: str, query: str) -> tuple[dict[str, Any], str]:
    answer = httpx.post(f"{ui}/graphql", json={"query": query}, timeout=60)
    answer.raise_for_status()
    body = answer.json()
    assert "errors" not in body, body
    return dict(body["data"]), answer.text


def test_the_ui_shows_secret_variables_by_name_only(tmp_path: Path) -> None:
    with temporary_database("postgresql", tmp_path) as plain:
        # Trust authentication: any password connects, so the URL is a real, working one.
        url = make_url(plain).set(password=PASSWORD).render_as_string(hide_password=False)
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar() == 1
        engine.dispose()
        ui_port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("MEET_", "DAGSTER_", "AWS_"))},
            "MEET_HOME": str(tmp_path / "home"),
            "DAGSTER_HOME": str(prepare_dagster_home(tmp_path / "home")),
            "MEET_DATABASE_URL": url,
            # Set as in production next to an emulator: the production clock must not care.
            "MEET_GOOGLE_ENDPOINT": "http://127.0.0.1:9",
            "MEET_WEBHOOK_URL": "http://127.0.0.1:9/hook",
            "MEET_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "MEET_S3_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        }
        logs = tmp_path / "logs"
        logs.mkdir()
        with ChildProcesses(env, logs, ROOT) as children:
            children.spawn("webserver", str(BIN / "dagster-webserver"), "-h", "127.0.0.1",
                           "-p", str(ui_port), "-m", "meet_pipeline.definitions")
            ui = f"http://127.0.0.1:{ui_port}"
            children.wait_http(f"{ui}/server_info", "the Dagster webserver", timeout=240)
            data, raw = graphql(ui, RESOURCES)
            [entry] = data["workspaceOrError"]["locationEntries"]
            location = entry["locationOrLoadError"]
            assert location["__typename"] == "RepositoryLocation", location
            [repository] = location["repositories"]
            values = {
                r["name"]: {v["key"]: (v["value"], v["type"]) for v in r["configuredValues"]}
                for r in repository["allTopLevelResourceDetails"]
            }
            env_data, env_raw = graphql(ui, ENV_VARS % entry["name"])
        answers = [raw, env_raw]
    assert values["database"]["url"] == ("MEET_DATABASE_URL", "ENV_VAR")
    assert values["compliance"]["webhook_secret"] == ("MEET_WEBHOOK_SECRET", "ENV_VAR")
    assert values["s3"]["aws_access_key_id"] == ("AWS_ACCESS_KEY_ID", "ENV_VAR")
    assert values["s3"]["aws_secret_access_key"] == ("AWS_SECRET_ACCESS_KEY", "ENV_VAR")
    used = {r["envVarName"] for r in env_data["utilizedEnvVarsOrError"]["results"]}
    assert {"MEET_DATABASE_URL", "MEET_WEBHOOK_SECRET", "AWS_SECRET_ACCESS_KEY"} <= used
    for answer in answers:
        for secret in (PASSWORD, WEBHOOK_SECRET, AWS_SECRET, AWS_KEY_ID):
            assert secret not in answer
    assert PASSWORD not in json.dumps(values)
