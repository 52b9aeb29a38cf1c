"""Alembic environment of the payment database (see shared/migrations.py).

`python -m payment_service migrate` passes the URL in; plain `alembic --name payment upgrade
head` reads it from the environment (PAYMENT_DATABASE_URL).
"""

from payment_service.settings import PaymentSettings
from payment_service.storage.tables import metadata
from shared.migrations import run_env

run_env(metadata, lambda: PaymentSettings().database_url)
