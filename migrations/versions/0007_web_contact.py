"""reporter contact channel chosen on the web form

Revision ID: 0007_web_contact
Revises: 0005_compliance
Create Date: 2026-11-25 12:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_web_contact'
down_revision = '0005_compliance'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reporter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_channel', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reporter', schema=None) as batch_op:
        batch_op.drop_column('contact_channel')
