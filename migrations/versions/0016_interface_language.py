"""each staff member's console interface language

Revision ID: 0016_interface_language
Revises: 0015_mediation_agreements
Create Date: 2026-12-01 22:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_interface_language'
down_revision = '0015_mediation_agreements'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interface_language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('interface_language')
