"""goods.sales dropped: a goods' sales are the sum of its SKUs' sales, read when asked for.

Every order used to increment its goods' row inside the checkout transaction, so all buyers of
a popular goods queued on that one row until commit. The SKU rows already carry the sales.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("goods", schema=None) as batch_op:
        batch_op.drop_constraint("goods_sales_not_negative", type_="check")
        batch_op.drop_column("sales")


def downgrade() -> None:
    with op.batch_alter_table("goods", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sales", sa.Integer, nullable=False, server_default="0"))
        batch_op.create_check_constraint("goods_sales_not_negative", "sales >= 0")
    op.execute(
        "UPDATE goods SET sales = (SELECT coalesce(sum(sales), 0) FROM skus"
        " WHERE skus.goods_id = goods.id)"
    )
