-- The schema at revision 0003, as Alembic makes it on a new postgresql database: generated
-- by scripts/make_head_schema.py from migrations/versions; do not edit by hand.

CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE feedback_items (
	id BIGSERIAL NOT NULL, 
	dedup_key VARCHAR(64) NOT NULL, 
	service_id TEXT NOT NULL, 
	card_uuid VARCHAR(64) NOT NULL, 
	rule_id TEXT, 
	outcome VARCHAR(16) NOT NULL, 
	outcome_timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	accepted_suggestions TEXT NOT NULL, 
	override_reason TEXT, 
	reason_system TEXT, 
	reason_code TEXT, 
	reason_display TEXT, 
	user_comment TEXT, 
	received_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_feedback_items_dedup_key UNIQUE (dedup_key)
);

CREATE INDEX ix_feedback_items_rule_time ON feedback_items (rule_id, outcome_timestamp);

CREATE INDEX ix_feedback_items_time ON feedback_items (outcome_timestamp);

CREATE TABLE cards_issued (
	rule_id TEXT NOT NULL, 
	hour TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	count BIGINT NOT NULL, 
	PRIMARY KEY (rule_id, hour)
);

ALTER TABLE feedback_items ADD COLUMN reason_title TEXT;

CREATE TABLE used_jti (
	key VARCHAR(64) NOT NULL, 
	expires_at FLOAT NOT NULL, 
	PRIMARY KEY (key)
);

CREATE INDEX ix_used_jti_expires_at ON used_jti (expires_at);

CREATE TABLE evaluations (
	id VARCHAR(36) NOT NULL, 
	at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	site TEXT NOT NULL, 
	hook TEXT NOT NULL, 
	service_id TEXT NOT NULL, 
	knowledge_version TEXT NOT NULL, 
	knowledge_sha256 VARCHAR(64) NOT NULL, 
	config_sha256 VARCHAR(64) NOT NULL, 
	patient_hmac VARCHAR(64) NOT NULL, 
	patient_ref TEXT, 
	cards INTEGER NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_evaluations_at ON evaluations (at);

CREATE TABLE evaluation_rules (
	id BIGSERIAL NOT NULL, 
	evaluation_id VARCHAR(36) NOT NULL, 
	at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	site TEXT NOT NULL, 
	rule_id TEXT NOT NULL, 
	mode VARCHAR(8) NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_evaluation_rules_at ON evaluation_rules (at);

CREATE INDEX ix_evaluation_rules_evaluation ON evaluation_rules (evaluation_id);

CREATE TABLE site_config_changes (
	id BIGSERIAL NOT NULL, 
	recorded_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	previous_sha256 VARCHAR(64), 
	changed_by TEXT NOT NULL, 
	change_note TEXT, 
	changes TEXT NOT NULL, 
	modes TEXT NOT NULL, 
	content TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE service_keys (
	name VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY (name)
);
