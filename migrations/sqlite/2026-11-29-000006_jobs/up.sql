-- Scheduled jobs: every run, every escalation firing (exactly once per hazard, rule and step,
-- decided by the primary key) and the outbox of emails written in the same transaction.
CREATE TABLE job_runs (
    id TEXT PRIMARY KEY NOT NULL,
    job TEXT NOT NULL,
    as_of DATE NOT NULL,
    trigger TEXT NOT NULL,
    instance TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    outcome TEXT NOT NULL,
    counts TEXT NOT NULL,
    error TEXT
);
CREATE INDEX job_runs_started ON job_runs (started_at, id);

CREATE TABLE escalations (
    hazard_id TEXT NOT NULL REFERENCES hazards (id),
    rule TEXT NOT NULL,
    step TEXT NOT NULL,
    anchor DATE NOT NULL,
    offset_days INTEGER NOT NULL,
    as_of DATE NOT NULL,
    job_run_id TEXT NOT NULL REFERENCES job_runs (id),
    fired_at TIMESTAMP NOT NULL,
    PRIMARY KEY (hazard_id, rule, step)
);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    hazard_ids TEXT NOT NULL,
    job_run_id TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_by TEXT,
    claimed_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_created ON outbox (created_at, id);
