# syntax=docker/dockerfile:1
# One image for the three services; docker-compose.yml picks the command of each.
# Two stages: the first builds the wheel from the source tree, the second installs only that
# wheel (migrations and the storefront ship inside it), so the image runs what `pip install .`
# gives anyone, and holds no source tree.

FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-deps --no-cache-dir --wheel-dir /dist .

FROM python:3.11-slim
# FORWARDED_ALLOW_IPS: whose X-Forwarded-* headers uvicorn believes (loopback only; set your
# proxy's address or network, never `*` on a port the public reaches).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FORWARDED_ALLOW_IPS=127.0.0.1
WORKDIR /app
# The cache mount keeps downloaded dependencies between builds, so a code change only
# reinstalls them from the cache, and nothing of pip's cache stays in the image.
RUN --mount=type=bind,from=build,source=/dist,target=/dist \
    --mount=type=cache,target=/root/.cache/pip \
    pip install /dist/*.whl \
    && useradd --system --uid 10001 --home-dir /app shop \
    && mkdir -p /app/var/keys /app/var/media && chown -R shop /app/var
# For `docker compose run --rm migrate python -m order_service load-catalog scripts/demo-catalog.json`.
# Its pictures are copied into /app/var/media (ORDER_MEDIA_DIR), a volume the order service reads.
COPY scripts/demo-catalog.json scripts/
COPY scripts/demo-images/ scripts/demo-images/

# The installed code is root's and read-only for the service user; only var/ (keys, when
# generated here; goods pictures) is its own.
USER shop
EXPOSE 8000 8001 8002
# For the default command; docker-compose.yml gives each service its own check on its port.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
CMD ["uvicorn", "order_service.main:app", "--host", "0.0.0.0", "--port", "8000"]
