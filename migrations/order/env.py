"""Alembic environment of the order database (see shared/migrations.py).

`python -m order_service migrate` passes the URL in; plain `alembic --name order upgrade head`
reads it from the environment (ORDER_DATABASE_URL).
"""

from order_service.settings import OrderSettings
from order_service.storage.tables import metadata
from shared.migrations import run_env

run_env(metadata, lambda: OrderSettings().database_url)
