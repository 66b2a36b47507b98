-- Hazards, their records (plans, extensions, congress reports, …) and the hash-chained ledger.
CREATE TABLE hazards (
    id TEXT PRIMARY KEY NOT NULL,
    ledger_no TEXT UNIQUE,
    enterprise_id TEXT NOT NULL REFERENCES enterprises (id),
    street_code TEXT NOT NULL REFERENCES streets (code),
    primary_department TEXT NOT NULL REFERENCES departments (code),
    status TEXT NOT NULL,
    level TEXT NOT NULL,
    handling TEXT NOT NULL,
    suspension TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    category TEXT,
    source INTEGER,
    discovered_on DATE,
    -- The whole report content (HazardContent) as JSON text.
    content TEXT NOT NULL,
    reporter_id TEXT NOT NULL REFERENCES users (id),
    submitted_by TEXT REFERENCES users (id),
    submitted_at TIMESTAMP,
    submitted_on DATE,
    posted_at TIMESTAMP,
    posted_on DATE,
    deadline DATE,
    effective_deadline DATE,
    plan_filed BOOLEAN NOT NULL DEFAULT FALSE,
    plan_acknowledged BOOLEAN NOT NULL DEFAULT FALSE,
    pending_extension DATE,
    completed_on DATE,
    acceptance_due_on DATE,
    cancel_date DATE,
    listed BOOLEAN NOT NULL DEFAULT FALSE,
    recurrence_of TEXT REFERENCES hazards (id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (effective_deadline IS NULL OR deadline IS NULL OR effective_deadline >= deadline)
);
CREATE INDEX hazards_enterprise ON hazards (enterprise_id, id);
CREATE INDEX hazards_street ON hazards (street_code, id);
CREATE INDEX hazards_status ON hazards (status, id);

-- Sectors of a hazard (the first routes to the primary department).
CREATE TABLE hazard_sectors (
    hazard_id TEXT NOT NULL REFERENCES hazards (id),
    sector_code TEXT NOT NULL REFERENCES sectors (code),
    position INTEGER NOT NULL,
    PRIMARY KEY (hazard_id, sector_code)
);
CREATE INDEX hazard_sectors_sector ON hazard_sectors (sector_code, hazard_id);

-- Departments a hazard is routed to: one primary (accepts), the others copied.
CREATE TABLE hazard_departments (
    hazard_id TEXT NOT NULL REFERENCES hazards (id),
    department_code TEXT NOT NULL REFERENCES departments (code),
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (hazard_id, department_code)
);
CREATE INDEX hazard_departments_department ON hazard_departments (department_code, hazard_id);

-- Records attached to a hazard: regulator report, plan, congress reports, notices, progress,
-- extensions, completion, acceptance, return and void reasons. Payload is JSON text.
CREATE TABLE hazard_records (
    id TEXT PRIMARY KEY NOT NULL,
    hazard_id TEXT NOT NULL REFERENCES hazards (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX hazard_records_hazard ON hazard_records (hazard_id, kind, created_at);

-- Photos and documents. The file lives in the blob store under its SHA-256.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY NOT NULL,
    hazard_id TEXT NOT NULL REFERENCES hazards (id),
    kind TEXT NOT NULL,
    caption TEXT,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    taken_at TIMESTAMP,
    uploaded_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX attachments_hazard ON attachments (hazard_id, created_at);

-- Ledger numbers (上账编号), gapless per year of posting.
CREATE TABLE ledger_numbers (
    year INTEGER PRIMARY KEY NOT NULL,
    last_number INTEGER NOT NULL
);

-- The append-only, hash-chained ledger. Nothing updates or deletes these rows.
CREATE TABLE ledger_entries (
    seq BIGINT PRIMARY KEY NOT NULL,
    hazard_id TEXT,
    kind TEXT NOT NULL,
    actor TEXT,
    role TEXT,
    at TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX ledger_entries_hazard ON ledger_entries (hazard_id, seq);

-- The newest entry, locked by every append so that entries are gapless and chained in order,
-- and kept apart so that deleting the newest entries is detected.
CREATE TABLE ledger_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
