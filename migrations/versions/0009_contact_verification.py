"""contact verification: a number typed into the web form links to nothing until proven

Revision ID: 0009_contact_verification
Revises: 0008_media_paths
Create Date: 2026-12-01 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_contact_verification'
down_revision = '0008_media_paths'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contact_verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('contact', sa.Text(), nullable=True),
    sa.Column('contact_channel', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=True),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_sends', sa.Integer(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )
    # Numbers typed into the web form before this revision were linked unproven: set each
    # aside for its web cases (the ciphertext moves as it is) and unlink it, unless the
    # reporter has also written to us by SMS or WhatsApp (their number is the carrier's proof).
    web_only = (
        "r.contact IS NOT NULL AND r.contact_channel IS NOT NULL AND r.erased_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM \"case\" o WHERE o.reporter_id = r.id AND o.channel <> 'web')"
    )
    op.execute(
        "INSERT INTO contact_verification (case_id, contact, contact_channel, code_sends, failed_attempts, created_at) "
        "SELECT c.id, r.contact, r.contact_channel, 0, 0, c.created_at FROM \"case\" c "
        f"JOIN reporter r ON r.id = c.reporter_id WHERE c.channel = 'web' AND {web_only}"
    )
    op.execute(f"UPDATE reporter SET contact = NULL, contact_hash = NULL WHERE id IN (SELECT r.id FROM reporter r WHERE {web_only})")


def downgrade() -> None:
    op.drop_table('contact_verification')
