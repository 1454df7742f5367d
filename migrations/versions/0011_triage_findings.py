"""triage: danger indicators found per message (with the words, encrypted); needs-human-triage flag

Revision ID: 0011_triage_findings
Revises: 0010_staff_sessions
Create Date: 2026-12-01 16:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_triage_findings'
down_revision = '0010_staff_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_human_triage', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_case_needs_human_triage'), ['needs_human_triage'], unique=False)
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.alter_column('needs_human_triage', server_default=None)
    op.create_table('triage_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.String(length=40), nullable=False),
    sa.Column('phrase', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('triage_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_triage_finding_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_triage_finding_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('triage_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_triage_finding_message_id'))
        batch_op.drop_index(batch_op.f('ix_triage_finding_case_id'))
    op.drop_table('triage_finding')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_needs_human_triage'))
        batch_op.drop_column('needs_human_triage')
