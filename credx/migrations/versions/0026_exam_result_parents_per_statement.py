"""exam_results' parents checked once per statement on PostgreSQL, not once per row

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 14:45:00

A foreign key is checked by a trigger per inserted row, which locks and looks up
the parent each time.  Every row of a bulk load names the same delivery and one
or a few agreements, so on PostgreSQL those per-row checks were two thirds of
loading a million exam results (measured by COPY of ready rows: 18.9 s with the
two foreign keys, 6.3 s without).  Here, on PostgreSQL only, the two foreign keys
of exam_results become a statement-level trigger over the inserted rows
(`parents_exist`): each distinct delivery and agreement they name is locked
FOR KEY SHARE, as a foreign key locks it, and must exist, else the statement
fails with the same SQLSTATE (23503, foreign_key_violation).  An update that
changes a row's delivery or agreement is checked the same way, row by row.  A delivery or
agreement that exam results name can no more be deleted or renumbered
(`parent_kept`).  SQLite keeps its foreign keys: its checks cost little.
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

FOREIGN_KEYS = {  # constraint -> (column, parent table)
    "fk_exam_results_delivery_id_deliveries": ("delivery_id", "deliveries"),
    "fk_exam_results_agreement_id_agreements": ("agreement_id", "agreements"),
}

PARENTS_EXIST = """
CREATE FUNCTION exam_results_parents_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    PERFORM 1 FROM deliveries
        WHERE id IN (SELECT DISTINCT delivery_id FROM changed_rows) FOR KEY SHARE;
    PERFORM 1 FROM agreements
        WHERE id IN (SELECT DISTINCT agreement_id FROM changed_rows) FOR KEY SHARE;
    SELECT 'delivery ' || wanted.delivery_id INTO missing
        FROM (SELECT DISTINCT delivery_id FROM changed_rows) AS wanted
        WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE id = wanted.delivery_id)
        LIMIT 1;
    IF missing IS NULL THEN
        SELECT 'agreement ' || wanted.agreement_id INTO missing
            FROM (SELECT DISTINCT agreement_id FROM changed_rows
                  WHERE agreement_id IS NOT NULL) AS wanted
            WHERE NOT EXISTS (SELECT 1 FROM agreements WHERE id = wanted.agreement_id)
            LIMIT 1;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'exam_results names %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$
"""

ROW_PARENTS_EXIST = """
CREATE FUNCTION exam_results_row_parents_exist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM deliveries WHERE id = NEW.delivery_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'exam_results names delivery %, which does not exist', NEW.delivery_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NEW.agreement_id IS NOT NULL THEN
        PERFORM 1 FROM agreements WHERE id = NEW.agreement_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'exam_results names agreement %, which does not exist',
                NEW.agreement_id USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    RETURN NULL;
END $$
"""

PARENT_KEPT = """
CREATE FUNCTION exam_results_parent_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id IS NOT DISTINCT FROM OLD.id THEN
        RETURN NULL;
    END IF;
    -- one branch per parent table: OLD.id is an integer in one, text in the other
    IF TG_TABLE_NAME = 'deliveries' THEN
        IF EXISTS (SELECT 1 FROM exam_results WHERE delivery_id = OLD.id) THEN
            RAISE EXCEPTION 'delivery % is still named by exam_results', OLD.id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM exam_results WHERE agreement_id = OLD.id) THEN
        RAISE EXCEPTION 'agreement % is still named by exam_results', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in FOREIGN_KEYS:
        op.drop_constraint(name, "exam_results", type_="foreignkey")
    op.execute(PARENTS_EXIST)
    op.execute(ROW_PARENTS_EXIST)
    op.execute(PARENT_KEPT)
    op.execute(
        "CREATE TRIGGER exam_results_parents_on_insert AFTER INSERT ON exam_results "
        "REFERENCING NEW TABLE AS changed_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION exam_results_parents_exist()"
    )
    # an update rarely changes a parent (settling and sealing update other columns): checked
    # per row, only when it does, so no update pays for a table of the rows it changed
    op.execute(
        "CREATE TRIGGER exam_results_parents_on_update "
        "AFTER UPDATE OF delivery_id, agreement_id ON exam_results FOR EACH ROW "
        "WHEN (OLD.delivery_id IS DISTINCT FROM NEW.delivery_id "
        "OR OLD.agreement_id IS DISTINCT FROM NEW.agreement_id) "
        "EXECUTE FUNCTION exam_results_row_parents_exist()"
    )
    for parent in ("deliveries", "agreements"):
        op.execute(
            f"CREATE TRIGGER exam_results_keep_{parent} AFTER DELETE OR UPDATE OF id "
            f"ON {parent} FOR EACH ROW EXECUTE FUNCTION exam_results_parent_kept()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for parent in ("deliveries", "agreements"):
        op.execute(f"DROP TRIGGER exam_results_keep_{parent} ON {parent}")
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER exam_results_parents_on_{event} ON exam_results")
    op.execute("DROP FUNCTION exam_results_parent_kept()")
    op.execute("DROP FUNCTION exam_results_row_parents_exist()")
    op.execute("DROP FUNCTION exam_results_parents_exist()")
    for name, (column, parent) in FOREIGN_KEYS.items():
        op.create_foreign_key(name, "exam_results", parent, [column], ["id"])
