# syntax=docker/dockerfile:1.7
# One image for every meet-archive process: the API, the Dagster code server, the
# webserver and the daemon (the compose file picks the command).

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN pip install uv==0.13.9
WORKDIR /src
# Dependencies first, from the runtime lock (no sandbox, no test tools), so that code
# changes do not re-install them.
COPY requirements.lock ./
RUN uv venv /opt/venv --python /usr/local/bin/python3.11 \
 && uv pip install --python /opt/venv/bin/python -r requirements.lock
COPY pyproject.toml README.md ./
COPY meet_core ./meet_core
COPY meet_api ./meet_api
COPY meet_pipeline ./meet_pipeline
COPY meet_cli ./meet_cli
# meet_sandbox (emulator, local S3, demo) is left out of the image on purpose.
RUN uv pip install --python /opt/venv/bin/python --no-deps .

FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="meet-archive" \
      org.opencontainers.image.description="XOMA to Google Meet bridge with an immutable recording archive"
# libpq is not needed (psycopg[binary] bundles it); curl is for the health check only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 meet \
 && useradd --system --uid 10001 --gid meet --home-dir /app --shell /usr/sbin/nologin meet
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=meet:meet workspace.yaml dagster.yaml ./
COPY --chown=meet:meet deploy ./deploy
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEET_HOME=/app/state \
    DAGSTER_HOME=/app/dagster-home
RUN mkdir -p /app/state /app/dagster-home \
 && cp deploy/dagster.yaml /app/dagster-home/dagster.yaml \
 && chown -R meet:meet /app/state /app/dagster-home
USER meet
EXPOSE 8000 3000 4000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/health/live || exit 1
# Writes the Google key from MEET_GOOGLE_SERVICE_ACCOUNT_JSON to a file when set (ECS).
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["meet-archive", "api", "--host", "0.0.0.0", "--port", "8000"]
