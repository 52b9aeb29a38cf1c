"""Usernames unique regardless of case: a unique index on lower(username).

Log-in looks users up by lower(username) (the index serves it). A database holding two
usernames that differ only in case cannot take the index: the upgrade stops with PostgreSQL's
unique violation naming them, and one of them must be renamed first.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_username_lower", table_name="users")
