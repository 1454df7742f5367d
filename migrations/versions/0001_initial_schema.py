"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 12:03:36.911129
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


# The audit log is append-only at the database level too, not only in code.
APPEND_ONLY_TRIGGERS = {
    "postgresql": [
        """CREATE FUNCTION case_event_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'case_event is append-only'; END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER case_event_no_update BEFORE UPDATE OR DELETE ON case_event
           FOR EACH ROW EXECUTE FUNCTION case_event_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER case_event_no_update BEFORE UPDATE ON case_event
           BEGIN SELECT RAISE(ABORT, 'case_event is append-only'); END""",
        """CREATE TRIGGER case_event_no_delete BEFORE DELETE ON case_event
           BEGIN SELECT RAISE(ABORT, 'case_event is append-only'); END""",
    ],
}
DROP_TRIGGERS = {
    "postgresql": ["DROP TRIGGER IF EXISTS case_event_no_update ON case_event",
                   "DROP FUNCTION IF EXISTS case_event_append_only()"],
    "sqlite": ["DROP TRIGGER IF EXISTS case_event_no_update", "DROP TRIGGER IF EXISTS case_event_no_delete"],
}


def upgrade() -> None:

    op.create_table('compliance_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=False),
    sa.Column('opened_month', sa.String(length=7), nullable=False),
    sa.Column('closed_month', sa.String(length=7), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=16), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language_group', sa.String(length=32), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('sector', sa.String(length=32), nullable=True),
    sa.Column('resolution_type', sa.String(length=32), nullable=True),
    sa.Column('remedies', sa.JSON(), nullable=False),
    sa.Column('amount_band', sa.String(length=32), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('days_to_first_response_band', sa.String(length=16), nullable=True),
    sa.Column('days_to_remedy_band', sa.String(length=16), nullable=True),
    sa.Column('case_age_band', sa.String(length=16), nullable=True),
    sa.Column('inspection_requested', sa.Boolean(), nullable=False),
    sa.Column('sanction_reported', sa.Boolean(), nullable=False),
    sa.Column('employer_pseudonym', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_key')
    )
    with op.batch_alter_table('compliance_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_record_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_record_closed_month'), ['closed_month'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_record_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_record_opened_month'), ['opened_month'], unique=False)

    op.create_table('reporter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_hash', sa.String(length=64), nullable=True),
    sa.Column('contact', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reporter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporter_contact_hash'), ['contact_hash'], unique=True)

    op.create_table('staff_user',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('is_supervisor', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('totp_secret', sa.Text(), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_user_email'), ['email'], unique=True)

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('case',
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('category_confidence', sa.Float(), nullable=True),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=16), nullable=True),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('sector', sa.String(length=32), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('needs_human_translation', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('pin_hash', sa.String(length=255), nullable=True),
    sa.Column('pin_failures', sa.Integer(), nullable=False),
    sa.Column('pin_locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('employer_name', sa.Text(), nullable=True),
    sa.Column('employer_pseudonym', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['reporter_id'], ['reporter.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index('ix_case_assignee_status', ['assignee_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_closed_at'), ['closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_employer_pseudonym'), ['employer_pseudonym'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_language'), ['language'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_needs_human_translation'), ['needs_human_translation'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_reference'), ['reference'], unique=True)
        batch_op.create_index(batch_op.f('ix_case_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_route'), ['route'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_urgency'), ['urgency'], unique=False)

    op.create_table('employer_disclosure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employer_pseudonym', sa.String(length=64), nullable=False),
    sa.Column('public_name', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('employer_pseudonym')
    )
    op.create_table('case_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_event_case_id'), ['case_id'], unique=False)

    op.create_table('mediation_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('mediator_id', sa.Integer(), nullable=True),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parties', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('result', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['mediator_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('mediation_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediation_session_case_id'), ['case_id'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('language_confidence', sa.Float(), nullable=True),
    sa.Column('translation', sa.Text(), nullable=True),
    sa.Column('translation_language', sa.String(length=8), nullable=True),
    sa.Column('translation_engine', sa.String(length=64), nullable=True),
    sa.Column('translation_model_version', sa.String(length=64), nullable=True),
    sa.Column('translation_pivot', sa.String(length=8), nullable=True),
    sa.Column('needs_human_translation', sa.Boolean(), nullable=False),
    sa.Column('translation_corrected_by_id', sa.Integer(), nullable=True),
    sa.Column('translation_corrected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processing_state', sa.String(length=16), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivery_status', sa.String(length=16), nullable=True),
    sa.Column('delivery_error_code', sa.String(length=16), nullable=True),
    sa.Column('send_attempts', sa.Integer(), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['reporter_id'], ['reporter.id'], ),
    sa.ForeignKeyConstraint(['translation_corrected_by_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'provider_id', name='uq_message_channel_provider_id')
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_case_created', ['case_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_delivery_status'), ['delivery_status'], unique=False)
        batch_op.create_index('ix_message_processing', ['processing_state', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_reporter_id'), ['reporter_id'], unique=False)

    op.create_table('note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_note_case_id'), ['case_id'], unique=False)

    op.create_table('outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('resolution_type', sa.String(length=32), nullable=False),
    sa.Column('remedies', sa.JSON(), nullable=False),
    sa.Column('amount_recovered', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('inspection_requested', sa.Boolean(), nullable=False),
    sa.Column('sanction_reported', sa.Boolean(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )
    op.create_table('media_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('stored_path', sa.String(length=512), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('media_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_attachment_message_id'), ['message_id'], unique=False)
    for statement in APPEND_ONLY_TRIGGERS.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_TRIGGERS.get(op.get_bind().dialect.name, []):
        op.execute(statement)

    with op.batch_alter_table('media_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_attachment_message_id'))

    op.drop_table('media_attachment')
    op.drop_table('outcome')
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_note_case_id'))

    op.drop_table('note')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_reporter_id'))
        batch_op.drop_index('ix_message_processing')
        batch_op.drop_index(batch_op.f('ix_message_delivery_status'))
        batch_op.drop_index('ix_message_case_created')

    op.drop_table('message')
    with op.batch_alter_table('mediation_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mediation_session_case_id'))

    op.drop_table('mediation_session')
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_event_case_id'))
        batch_op.drop_index(batch_op.f('ix_case_event_actor_id'))
        batch_op.drop_index(batch_op.f('ix_case_event_action'))

    op.drop_table('case_event')
    op.drop_table('employer_disclosure')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_urgency'))
        batch_op.drop_index(batch_op.f('ix_case_status'))
        batch_op.drop_index(batch_op.f('ix_case_route'))
        batch_op.drop_index(batch_op.f('ix_case_reporter_id'))
        batch_op.drop_index(batch_op.f('ix_case_reference'))
        batch_op.drop_index(batch_op.f('ix_case_needs_human_translation'))
        batch_op.drop_index(batch_op.f('ix_case_language'))
        batch_op.drop_index(batch_op.f('ix_case_employer_pseudonym'))
        batch_op.drop_index(batch_op.f('ix_case_created_at'))
        batch_op.drop_index(batch_op.f('ix_case_closed_at'))
        batch_op.drop_index(batch_op.f('ix_case_category'))
        batch_op.drop_index('ix_case_assignee_status')
        batch_op.drop_index(batch_op.f('ix_case_assignee_id'))

    op.drop_table('case')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))
        batch_op.drop_index(batch_op.f('ix_api_token_token_hash'))

    op.drop_table('api_token')
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_user_email'))

    op.drop_table('staff_user')
    with op.batch_alter_table('reporter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reporter_contact_hash'))

    op.drop_table('reporter')
    with op.batch_alter_table('compliance_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_record_opened_month'))
        batch_op.drop_index(batch_op.f('ix_compliance_record_country'))
        batch_op.drop_index(batch_op.f('ix_compliance_record_closed_month'))
        batch_op.drop_index(batch_op.f('ix_compliance_record_category'))

    op.drop_table('compliance_record')

