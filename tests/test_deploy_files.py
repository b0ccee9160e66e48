"""docker-compose.yml and Dockerfile (validated without a Docker engine), and HPC clusters."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from statmech.cluster import jobqueue_cluster
from statmech.config import JobqueueConfig, parse_config

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"certs", "postgres", "prefect-server", "dask-scheduler", "dask-worker", "runner"}
SECRETS = {"POSTGRES_PASSWORD": "pg-secret-1", "PREFECT_AUTH": "admin:prefect-secret-2"}


def compose_config(**env: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose (Debian package) not installed; .ci/run installs it")
    clean = {k: v for k, v in os.environ.items()
             if k not in SECRETS and k not in ("STATMECH_BIND", "STATMECH_CERTS")}
    return subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, timeout=60, env={**clean, **env})


@pytest.fixture(scope="module")
def compose() -> dict:
    out = compose_config(**SECRETS)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_secrets(missing: str) -> None:
    out = compose_config(**{k: v for k, v in SECRETS.items() if k != missing})
    assert out.returncode != 0
    assert f"set {missing}" in out.stderr


def test_compose_stack_is_secure_by_default(compose: dict) -> None:
    services = compose["services"]
    for name, svc in services.items():  # published ports listen on loopback only
        for port in svc.get("ports", []):
            text = str(port.get("host_ip", "")) if isinstance(port, dict) else str(port)
            assert text.startswith("127.0.0.1"), (name, port)
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    assert SECRETS["POSTGRES_PASSWORD"] in \
        services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    server_env = services["prefect-server"]["environment"]
    assert server_env["PREFECT_SERVER_API_AUTH_STRING"] == SECRETS["PREFECT_AUTH"]
    for name in ("prefect-server", "dask-scheduler", "dask-worker", "runner"):
        env = services[name]["environment"]
        assert env["PREFECT_API_AUTH_STRING"] == SECRETS["PREFECT_AUTH"], name
        assert env["DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION"] == "True", name
        assert any(str(v).endswith(":/certs:ro") or "/certs" in str(v)
                   for v in services[name]["volumes"]), name
    scheduler = " ".join(str(services["dask-scheduler"]["command"]).split())
    assert "--protocol tls" in scheduler and "--tls-cert /certs/scheduler.pem" in scheduler
    assert "--tls-key /certs/scheduler-key.pem" in scheduler and "ca.pem" in scheduler
    worker = " ".join(str(services["dask-worker"]["command"]).split())
    assert worker.startswith("dask worker tls://dask-scheduler:8786")
    assert "--tls-cert /certs/worker.pem" in worker and "--tls-key /certs/worker-key.pem" in worker
    runner = " ".join(str(services["runner"]["command"]).split())
    assert "--address tls://dask-scheduler:8786 --tls-dir /certs" in runner
    assert "statmech certs /certs --if-missing" in str(services["certs"]["command"])
    assert services["dask-scheduler"]["depends_on"]["certs"]["condition"] == \
        "service_completed_successfully"


def test_compose_ports_open_only_on_request() -> None:
    out = compose_config(**SECRETS, STATMECH_BIND="0.0.0.0")
    assert out.returncode == 0, out.stderr
    ports = yaml.safe_load(out.stdout)["services"]["dask-scheduler"]["ports"]
    assert any("0.0.0.0" in str(p) for p in ports)


def test_compose_file_is_valid_and_complete(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    for name, svc in services.items():
        assert "healthcheck" in svc or name == "certs", f"{name} has no health check"
    for name in ("prefect-server", "dask-scheduler", "dask-worker", "runner"):
        assert services[name]["image"] == "statmech:latest"
        assert any("/app/results" in str(v) for v in services[name]["volumes"])
        assert services[name]["environment"]["PREFECT_API_URL"] == \
            "http://prefect-server:4200/api"
    assert "postgresql+asyncpg://" in \
        services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    worker = services["dask-worker"]
    assert "ports" not in worker and "container_name" not in worker  # --scale works
    assert "tls://dask-scheduler:8786" in str(worker["command"])
    assert "statmech deploy" in str(services["runner"]["command"])
    assert {"results", "pgdata"} <= set(compose["volumes"])


def test_dockerfile_installs_the_project_and_the_configs_it_serves() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert 'pip install ".[hpc]"' in text and "COPY configs" in text
    compose_text = (ROOT / "docker-compose.yml").read_text()
    default = compose_text.split("SCHEDULED_CONFIG:-")[1].split("}")[0]
    parse_config((ROOT / default).read_text())  # the runner's default sweep file is valid


@pytest.mark.parametrize("system", ["slurm", "pbs"])
def test_jobqueue_cluster_objects(system: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect:4200/api")
    cfg = JobqueueConfig(system=system, jobs=2, cores=8, memory="16GiB", queue="short",
                         account="phys123", walltime="02:00:00",
                         job_script_prologue=("module load python",))
    cluster = jobqueue_cluster(cfg)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    directive = "#SBATCH" if system == "slurm" else "#PBS"
    assert directive in script
    assert "02:00:00" in script and "phys123" in script and "short" in script
    assert "module load python" in script
    assert "export PREFECT_API_URL=http://prefect:4200/api" in script
    assert "--nthreads 1" in script and "--nworkers 8" in script


def test_jobqueue_section_in_a_sweep_file() -> None:
    text = (ROOT / "configs" / "quickstart.yaml").read_text() + """
cluster:
  jobqueue: {system: slurm, jobs: 4, cores: 16, memory: 32GiB, walltime: "04:00:00"}
"""
    sweep = parse_config(text)
    assert sweep.cluster.jobqueue is not None and sweep.cluster.jobqueue.jobs == 4
