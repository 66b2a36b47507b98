-- Supervision by deadline: indexes for every list filter and sort, and full-text search over
-- title, description, location and the enterprise's name (trigrams, so Chinese works).
CREATE INDEX hazards_deadline ON hazards (effective_deadline, id);
CREATE INDEX hazards_status_deadline ON hazards (status, effective_deadline, id);
CREATE INDEX hazards_street_status_deadline ON hazards (street_code, status, effective_deadline, id);
CREATE INDEX hazards_department_status_deadline ON hazards (primary_department, status, effective_deadline, id);
CREATE INDEX hazards_level_status ON hazards (level, status, id);
CREATE INDEX hazards_listed ON hazards (listed, effective_deadline, id);
CREATE INDEX hazards_posted ON hazards (posted_on, id);
CREATE INDEX hazards_discovered ON hazards (discovered_on, id);
CREATE INDEX hazards_cancel ON hazards (cancel_date, id);
CREATE INDEX hazards_updated ON hazards (updated_at, id);

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE hazard_search (
    hazard_id TEXT PRIMARY KEY NOT NULL REFERENCES hazards (id),
    body TEXT NOT NULL
);
CREATE INDEX hazard_search_trgm ON hazard_search USING gin (body gin_trgm_ops);

-- 挂牌督办 (T6): one listing per hazard; the 文号 is unique.
CREATE TABLE listings (
    hazard_id TEXT PRIMARY KEY NOT NULL REFERENCES hazards (id),
    level TEXT NOT NULL,
    doc_no TEXT NOT NULL UNIQUE,
    supervising_unit TEXT NOT NULL,
    supervising_department TEXT NOT NULL,
    signed_by TEXT NOT NULL,
    complete_by DATE NOT NULL,
    plan_file_by DATE NOT NULL,
    listed_on DATE NOT NULL,
    listed_by TEXT NOT NULL REFERENCES users (id),
    delivered_by TEXT,
    received_by TEXT,
    received_at TIMESTAMP,
    delisted_on DATE
);
