"""media paths relative to the instance's media folder (one convention, owned by app/media.py)

Rows stored before this revision say "media/<message>/<attachment>.bin" (relative to the
instance folder); app/media.py resolves paths under instance/media/, so those rows pointed at
instance/media/media/... and erasure missed their files.

Revision ID: 0008_media_paths
Revises: 0007_web_contact
Create Date: 2026-12-01 15:30:00
"""
from alembic import op


revision = '0008_media_paths'
down_revision = '0007_web_contact'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE media_attachment SET stored_path = substr(stored_path, 7) WHERE stored_path LIKE 'media/%'")


def downgrade() -> None:
    op.execute("UPDATE media_attachment SET stored_path = 'media/' || stored_path WHERE stored_path IS NOT NULL")
