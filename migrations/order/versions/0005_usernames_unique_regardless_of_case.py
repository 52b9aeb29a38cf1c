"""Usernames unique regardless of case: a unique index on lower(username).

Log-in looks users up by lower(username) (the index serves it). A database holding two
usernames that differ only in case cannot take the index: the upgrade stops with PostgreSQL's
unique violation naming them, and one of them must be renamed first.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_username_lower", table_name="users")
