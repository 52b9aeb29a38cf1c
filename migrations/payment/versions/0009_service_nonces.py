"""service_nonces: the nonces of accepted signed internal calls, shared by every process

A captured internal call was refused again only by the process that had accepted it; with two
workers (or replicas) the other one accepted it (issue 10, item 12).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_nonces",
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_service_nonces")),
    )


def downgrade() -> None:
    op.drop_table("service_nonces")
