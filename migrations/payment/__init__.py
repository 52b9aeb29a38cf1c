"""The payment database's Alembic scripts, installed as the package `payment_service.migrations`.

A package only so that they ship in the wheel and are found with importlib.resources (see
pyproject.toml and shared/migrations.py); Alembic reads env.py and versions/ as files.
"""
