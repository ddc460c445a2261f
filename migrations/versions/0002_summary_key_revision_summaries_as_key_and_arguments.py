"""revision summaries as key and arguments

Revision ID: 0002_summary_key
Revises: 0001_initial
Create Date: 2026-12-02 13:35:53.965241

Existing revisions keep their German text in `summary` (the table is append-only, so they are not rewritten)
and are shown as that text; new ones also store `summary_key` and `summary_args`.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_summary_key'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary_key', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('summary_args', sa.JSON(), nullable=True))
    _keep_append_only()


def downgrade():
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.drop_column('summary_args')
        batch_op.drop_column('summary_key')
    _keep_append_only()


def _keep_append_only():
    # On SQLite a batch operation may rebuild the table, which drops its triggers: put them back (idempotent).
    from strategy.models.triggers import create_append_only_triggers

    create_append_only_triggers(op.get_bind(), ("revision",))
