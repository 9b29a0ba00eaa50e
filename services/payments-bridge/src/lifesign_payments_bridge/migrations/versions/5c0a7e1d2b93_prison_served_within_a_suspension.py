"""prison served within a suspension

The cause a suspension was last restated with (``suspension_rule``) may now change from
prison to another hold (a conflict while serving); whether a prison term fell within the
suspension, which decides that its restoration pays no arrears, is kept on its own.

Revision ID: 5c0a7e1d2b93
Revises: 0497e4bf0a4b
Create Date: 2026-12-04 11:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c0a7e1d2b93"
down_revision: str | None = "0497e4bf0a4b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "payment_state",
        sa.Column("prison_served", sa.Boolean(), server_default="false", nullable=False),
        schema="payments",
    )
    # Until now a suspension that met a prison term kept the prison rule as its cause.
    op.execute(
        "UPDATE payments.payment_state SET prison_served = true "
        "WHERE suspended AND suspension_rule = 'R-7.5.1b-prison'"
    )


def downgrade() -> None:
    op.drop_column("payment_state", "prison_served", schema="payments")
