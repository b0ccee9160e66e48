# One image for every service of docker-compose.yml: the certificate maker, Prefect server, Dask
# scheduler and workers, and the runner that serves scheduled sweeps. No secret is baked in: the
# TLS certificates are mounted at /certs and the passwords come from the environment.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

WORKDIR /app
COPY pyproject.toml README.md ./
COPY statmech ./statmech
COPY flows ./flows
COPY configs ./configs
RUN pip install ".[hpc]" && mkdir -p /app/results

# stores live in the shared volume mounted here
VOLUME ["/app/results"]
CMD ["statmech", "--help"]
