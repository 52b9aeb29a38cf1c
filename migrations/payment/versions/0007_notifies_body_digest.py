"""notifies: SHA-256 and size of the body as received (an unverified one keeps only its head)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_sha256", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("body_size", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifies", schema=None) as batch_op:
        batch_op.drop_column("body_size")
        batch_op.drop_column("body_sha256")
