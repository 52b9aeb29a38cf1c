# One image for the three services; docker-compose.yml picks the command of each.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p shared order_service payment_service alipay_sandbox \
    && pip install . \
    && pip uninstall -y alipay-shop-backend

# Editable, so the code finds alembic.ini, migrations/ and web/ next to it in /app.
COPY . .
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /app shop \
    && mkdir -p /app/var/keys && chown -R shop /app/var

USER shop
EXPOSE 8000 8001 8002
# The code is read-only for the service user; only var/ (keys, when generated here) is its own.
CMD ["uvicorn", "order_service.main:app", "--host", "0.0.0.0", "--port", "8000"]
