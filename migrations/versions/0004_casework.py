"""casework: routing rule sets, recruiter mention, SLA deadline indexes

Revision ID: 0004_casework
Revises: 0001
Create Date: 2026-11-25 12:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_casework'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('routing_rule_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('saved_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['saved_by_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recruiter_name', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_case_first_response_due_at'), ['first_response_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_resolution_due_at'), ['resolution_due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_resolution_due_at'))
        batch_op.drop_index(batch_op.f('ix_case_first_response_due_at'))
        batch_op.drop_column('recruiter_name')
    op.drop_table('routing_rule_set')
