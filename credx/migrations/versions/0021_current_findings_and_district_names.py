"""one current finding per upload (a partial unique index); district names on the school list

Revision ID: 0021
Revises: 0016
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0021"
down_revision = "0016"
branch_labels = None
depends_on = None

CURRENT = sa.text("is_current")


def upgrade() -> None:
    with op.batch_alter_table("audit_tasks") as batch:
        batch.add_column(sa.Column("is_current", sa.Boolean(), server_default=sa.false(),
                                   nullable=False))
    _mark_current()
    op.create_index("uq_audit_tasks_current_evidence", "audit_tasks", ["evidence_id"],
                    unique=True, sqlite_where=CURRENT, postgresql_where=CURRENT)
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("district_name", sqlmodel.sql.sqltypes.AutoString(length=200),
                                   nullable=True))


def _mark_current() -> None:
    """The rule of `audit.plans.standing` as of this revision (a migration keeps its own
    copy): per upload, the task of its latest plan not superseded, else its latest final."""
    rows = op.get_bind().execute(sa.text(
        "SELECT t.id, t.evidence_id, t.status, p.status FROM audit_tasks t "
        "JOIN audit_plans p ON p.id = t.plan_id ORDER BY p.created_at, t.id")).all()
    current: dict[str, int] = {}
    for task_id, evidence_id, task_status, plan_status in rows:
        if evidence_id not in current or plan_status != "superseded" or task_status == "final":
            current[evidence_id] = task_id
    chosen = sorted(current.values())
    for start in range(0, len(chosen), 500):
        op.get_bind().execute(
            sa.text("UPDATE audit_tasks SET is_current = :yes WHERE id IN :ids")
            .bindparams(sa.bindparam("ids", expanding=True)),
            {"yes": True, "ids": chosen[start : start + 500]},
        )


def downgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("district_name")
    op.drop_index("uq_audit_tasks_current_evidence", table_name="audit_tasks")
    with op.batch_alter_table("audit_tasks") as batch:
        batch.drop_column("is_current")
