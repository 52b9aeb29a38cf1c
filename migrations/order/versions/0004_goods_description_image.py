"""goods.description and goods.image_url: what the storefront shows on a goods' page.

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
    with op.batch_alter_table("goods", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.String(2000), nullable=True))
        batch_op.add_column(sa.Column("image_url", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("goods", schema=None) as batch_op:
        batch_op.drop_column("image_url")
        batch_op.drop_column("description")
