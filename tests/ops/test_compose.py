"""docker-compose.yml is valid Compose and agrees with the code (Docker does not run here).

The schema, ``tests/ops/compose-spec.json``, is the Compose specification's own JSON
schema (compose-spec/compose-spec, schema/compose-spec.json; Apache-2.0, licence in
``compose-spec.LICENSE``), vendored from the copy the check-jsonschema 0.39.0 package
on PyPI ships (check_jsonschema/builtin_schemas/vendor/compose-spec.json), unchanged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

from oferta import search_attributes
from oferta.cli import build_parser
from oferta.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _compose_schema() -> dict:
    return json.loads((Path(__file__).with_name("compose-spec.json")).read_text())


def _variables_the_code_reads() -> set[str]:
    names = {field.alias for field in Settings.model_fields.values() if field.alias}
    for source in (ROOT / "oferta").rglob("*.py"):
        names |= set(re.findall(r"os\.environ\.get\(\"([A-Z_]+)\"", source.read_text()))
    return names


def test_compose_file_follows_the_compose_specification() -> None:
    jsonschema.validate(COMPOSE, _compose_schema())


def test_every_dependency_exists_and_waits_for_health_or_completion() -> None:
    for name, service in SERVICES.items():
        for target, condition in (service.get("depends_on") or {}).items():
            assert target in SERVICES, f"{name} depends on unknown {target}"
            wanted = condition["condition"]
            assert wanted in {"service_healthy", "service_completed_successfully"}
            if wanted == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{target} has no health check"


def test_oferta_services_use_real_settings_and_real_commands() -> None:
    known = _variables_the_code_reads()
    for name in ("api", "worker"):
        env = SERVICES[name]["environment"]
        unknown = sorted(set(env) - known)
        assert not unknown, f"{name} sets variables the code never reads: {unknown}"
        assert "healthcheck" in SERVICES[name]
    assert SERVICES["worker"]["command"] == ["python", "worker.py"] and (ROOT / "worker.py").exists()
    assert SERVICES["api"]["command"][:2] == ["oferta", "api"]
    build_parser().parse_args(SERVICES["api"]["command"][1:])  # the CLI accepts these arguments
    assert SERVICES["worker"]["deploy"]["replicas"] >= 2
    defaults = Settings(_env_file=None)
    api_port = str(defaults.api_port)
    assert SERVICES["api"]["environment"]["OFERTA_API_PORT"] == api_port
    assert SERVICES["api"]["command"][-2:] == ["--port", api_port]
    assert f"{api_port}:{api_port}" in SERVICES["api"]["ports"]
    assert api_port in " ".join(SERVICES["api"]["healthcheck"]["test"])
    temporal_port = defaults.temporal_address.rpartition(":")[2]
    assert SERVICES["api"]["environment"]["TEMPORAL_ADDRESS"] == f"temporal:{temporal_port}"
    assert f"{temporal_port}:{temporal_port}" in SERVICES["temporal"]["ports"]
    worker_port = SERVICES["worker"]["environment"]["OFERTA_WORKER_METRICS_PORT"]
    assert worker_port == str(defaults.worker_metrics_port)
    assert worker_port in " ".join(SERVICES["worker"]["healthcheck"]["test"])


def test_the_setup_job_registers_every_search_attribute() -> None:
    script = (ROOT / "deploy" / "temporal" / "setup-namespace.sh").read_text()
    registered = dict(re.findall(r"^add (\w+) (\w+)$", script, re.MULTILINE))
    assert registered == search_attributes.CLI_TYPES
    for mount in SERVICES["temporal-setup"]["volumes"]:
        assert (ROOT / mount.split(":")[0]).exists()


def test_the_image_holds_what_the_services_run() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for needed in ("worker.py", "policies", "oferta", "workflows", "activities", "api"):
        assert re.search(rf"^COPY {needed}\b", dockerfile, re.MULTILINE), needed
    assert "USER oferta" in dockerfile
    assert "OFERTA_POLICY_DIR=/app/policies" in dockerfile


def test_env_example_names_only_known_variables() -> None:
    compose_variables = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    example = [
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert set(example) <= compose_variables | _variables_the_code_reads()
    assert "OFERTA_BOOTSTRAP_API_KEY" in example


def test_the_schema_check_would_catch_a_mistake() -> None:
    import copy

    import pytest

    broken = copy.deepcopy(COMPOSE)
    broken["services"]["worker"]["deploy"]["replicas"] = "two"
    broken["services"]["api"]["healthcheck"]["intervall"] = "10s"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, _compose_schema())


def test_pip_install_carries_every_file_the_image_needs() -> None:
    """The image runs ``pip install .``: every package needs its __init__.py, every data file a pattern."""
    import fnmatch
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = project["package-data"]["*"]
    for top in project["packages"]["find"]["include"]:
        root = ROOT / top.rstrip("*")
        for path in root.rglob("*"):
            if "__pycache__" in path.parts or path.is_dir():
                continue
            if path.suffix == ".py":
                assert (path.parent / "__init__.py").exists(), f"{path.parent} is not a package"
            else:
                assert any(fnmatch.fnmatch(path.name, p) for p in patterns), f"{path} is not packaged"


async def test_the_setup_job_script_works_against_a_real_server_twice() -> None:
    """The job's script, run with the same `temporal` CLI the admin-tools image has, on a bare server."""
    import asyncio
    import os
    import subprocess

    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from oferta.temporal import quiet_runtime, temporal_cli_path

    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_cli_path(),
        runtime=quiet_runtime(),
    )
    try:
        variables = {
            **os.environ,
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": "oferta-prod",
            "PATH": f"{Path(temporal_cli_path()).parent}:{os.environ['PATH']}",
        }
        for _ in range(2):  # a restarted job finds everything in place
            job = await asyncio.to_thread(
                subprocess.run,
                ["sh", str(ROOT / "deploy" / "temporal" / "setup-namespace.sh")],
                env=variables,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert job.returncode == 0, job.stdout + job.stderr
            assert "namespace oferta-prod and search attributes ready" in job.stdout
        listed = await env.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="oferta-prod")
        )
        assert set(search_attributes.CLI_TYPES) <= set(listed.custom_attributes)
    finally:
        await env.shutdown()


def test_a_variable_compose_leaves_empty_reaches_the_code_as_unset(monkeypatch) -> None:
    """`SMTP_USERNAME: ${SMTP_USERNAME:-}` is "" in the container: no login to an open relay."""
    optional = [
        name
        for name, value in SERVICES["worker"]["environment"].items()
        if isinstance(value, str) and value.endswith(":-}")
    ]
    assert "SMTP_USERNAME" in optional
    for name in optional:
        monkeypatch.setenv(name, "")
    settings = Settings(_env_file=None)
    assert settings.smtp_username is None and settings.smtp_password is None
    assert settings.provisioning_url is None
