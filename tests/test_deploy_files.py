"""docker-compose.yml and Dockerfile (validated without a Docker engine), and HPC clusters."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from statmech.cluster import jobqueue_cluster
from statmech.config import JobqueueConfig, parse_config

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"postgres", "prefect-server", "dask-scheduler", "dask-worker", "runner"}


@pytest.fixture(scope="module")
def compose() -> dict:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose (Debian package) not installed; .ci/run installs it")
    out = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_compose_file_is_valid_and_complete(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    for name, svc in services.items():
        assert "healthcheck" in svc, f"{name} has no health check"
    for name in ("prefect-server", "dask-scheduler", "dask-worker", "runner"):
        assert services[name]["image"] == "statmech:latest"
        assert any("/app/results" in str(v) for v in services[name]["volumes"])
        assert services[name]["environment"]["PREFECT_API_URL"] == \
            "http://prefect-server:4200/api"
    assert "postgresql+asyncpg://" in \
        services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    worker = services["dask-worker"]
    assert "ports" not in worker and "container_name" not in worker  # --scale works
    assert "tcp://dask-scheduler:8786" in str(worker["command"])
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
