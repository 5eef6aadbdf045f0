# One image for every Calisera process: `calisera serve <service>`, `calisera worker <queue>`,
# `calisera relay`, `calisera migrate` and `calisera-operator`.
# Build stage: install the locked dependencies with uv into /app/.venv (no dev/test extras).
FROM python:3.11-slim AS build
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
# Dependencies first (cached while only our code changes).
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY services ./services
COPY operator ./operator
RUN uv sync --frozen --no-dev --no-editable

# Runtime stage: the virtualenv only, a non-root user, a read-only friendly layout.
FROM python:3.11-slim AS runtime
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    CALISERA_DATA_DIR=/tmp/calisera
RUN groupadd --system --gid 10001 calisera \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent calisera
COPY --from=build --chown=0:0 /app/.venv /app/.venv
USER 10001
WORKDIR /tmp
EXPOSE 8000
ENTRYPOINT ["calisera"]
CMD ["--help"]
