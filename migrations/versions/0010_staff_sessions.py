"""console sessions bound to a per-user nonce; the last accepted TOTP step per user

Revision ID: 0010_staff_sessions
Revises: 0009_contact_verification
Create Date: 2026-12-08 10:00:00
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0010_staff_sessions'
down_revision = '0009_contact_verification'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('session_nonce', sa.String(length=64), nullable=True))
    # A random nonce per existing account (cookies signed before this revision carry none, so
    # they stop working), then the column is required.
    staff_user = sa.table('staff_user', sa.column('id', sa.Integer), sa.column('session_nonce', sa.String))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(staff_user.c.id)).all():
        connection.execute(
            staff_user.update().where(staff_user.c.id == user_id).values(session_nonce=secrets.token_urlsafe(32))
        )
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.alter_column('session_nonce', existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('session_nonce')
        batch_op.drop_column('totp_last_step')
