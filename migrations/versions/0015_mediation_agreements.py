"""mediation agreements: remedy lines (remedy, amount, payer, due date) and a follow-up date

Revision ID: 0015_mediation_agreements
Revises: 0014_notifications
Create Date: 2026-12-01 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_mediation_agreements'
down_revision = '0014_notifications'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mediation_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_on', sa.Date(), nullable=True))
    op.create_table('remedy_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('mediation_session_id', sa.Integer(), nullable=True),
    sa.Column('remedy', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('payer', sa.String(length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mediation_session_id'], ['mediation_session.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('remedy_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remedy_line_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remedy_line_mediation_session_id'), ['mediation_session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('remedy_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remedy_line_mediation_session_id'))
        batch_op.drop_index(batch_op.f('ix_remedy_line_case_id'))
    op.drop_table('remedy_line')
    with op.batch_alter_table('mediation_session', schema=None) as batch_op:
        batch_op.drop_column('follow_up_on')
