# One image for the api, the worker and the QBO sandbox; docker-compose.yml picks the command.
# Build: docker build -t skimmer-qbo-sync:dev .

# --- build stage: resolve the locked dependencies into /app/.venv ---------------------------------
FROM python:3.11-slim AS build

# uv from PyPI, pinned so that rebuilds are repeatable.
RUN pip install --no-cache-dir uv==0.13.9

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never

WORKDIR /app
# Only the dependency manifests, so code changes do not invalidate this layer.
COPY pyproject.toml uv.lock ./
# --frozen: install exactly uv.lock (fail rather than re-resolve); postgres extra for psycopg.
RUN uv sync --frozen --no-dev --extra postgres --no-install-project

# --- runtime stage: the virtualenv and the code, run as a non-root user ----------------------------
FROM python:3.11-slim

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app

WORKDIR /app
COPY --from=build /app/.venv /app/.venv

COPY billing/ ./billing/
COPY workflows/ ./workflows/
COPY activities/ ./activities/
COPY qbo/ ./qbo/
COPY qbo_sandbox/ ./qbo_sandbox/
COPY store/ ./store/
COPY starter/ ./starter/
COPY telemetry/ ./telemetry/
COPY devstack/ ./devstack/
COPY temporal_platform/ ./temporal_platform/
COPY worker.py config.py services.py ./

# .data holds the default SQLite store and dev key file when DATABASE_URL/TOKEN_ENCRYPTION_KEY
# are not given; docker-compose.yml gives both, but the image also runs on its own.
RUN mkdir -p /app/.data && chown app:app /app/.data

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

USER app
EXPOSE 8000 8765 9464
CMD ["python", "-m", "starter.api"]
