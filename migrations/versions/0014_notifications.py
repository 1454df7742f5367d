"""staff notifications: one row per recipient, kind, case and triggering event; read and e-mailed times

Revision ID: 0014_notifications
Revises: 0013_staff_accounts
Create Date: 2026-12-01 18:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_notifications'
down_revision = '0013_staff_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('event_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['staff_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recipient_id', 'kind', 'case_id', 'event_key', name='uq_staff_notification_event')
    )
    with op.batch_alter_table('staff_notification', schema=None) as batch_op:
        batch_op.create_index('ix_staff_notification_recipient_read', ['recipient_id', 'read_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_notification_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_notification_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_notification_created_at'))
        batch_op.drop_index(batch_op.f('ix_staff_notification_case_id'))
        batch_op.drop_index('ix_staff_notification_recipient_read')
    op.drop_table('staff_notification')
