"""api_tokens.holder_name: the name an agency sign-in gives, shown on pages

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 15:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("holder_name")
