"""compliance: when a case's anonymized compliance record was last written

Revision ID: 0005_compliance
Revises: 0004_casework
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_compliance'
down_revision = '0004_casework'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compliance_recorded_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('compliance_recorded_at')
