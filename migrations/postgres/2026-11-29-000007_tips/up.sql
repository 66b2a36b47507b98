-- Public tip-offs (举报). The reporter's name and phone live apart in tip_contacts, read only
-- by the officer detail view; nothing else (lists, exports, events, the ledger) joins it.
CREATE TABLE tips (
    id TEXT PRIMARY KEY NOT NULL,
    -- SHA-256 of the receipt code: the code itself is shown once, to the reporter.
    receipt_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    location TEXT NOT NULL,
    occurred_on DATE NOT NULL,
    street_code TEXT REFERENCES streets (code),
    -- How the street was chosen: reporter, address, officer (NULL while unrouted).
    street_routed_by TEXT,
    sector_code TEXT REFERENCES sectors (code),
    department_code TEXT REFERENCES departments (code),
    anonymous BOOLEAN NOT NULL,
    -- created, linked or duplicate once confirmed; not_confirmed or transferred otherwise.
    resolution TEXT,
    hazard_id TEXT REFERENCES hazards (id),
    duplicate_of TEXT REFERENCES tips (id),
    received_on DATE NOT NULL,
    due_on DATE NOT NULL,
    resolved_on DATE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX tips_street ON tips (street_code, id);
CREATE INDEX tips_department ON tips (department_code, id);
CREATE INDEX tips_status ON tips (status, id);
CREATE INDEX tips_hazard ON tips (hazard_id);

-- Who filed a tip, when they gave their name or phone. Never exported, never in the ledger.
CREATE TABLE tip_contacts (
    tip_id TEXT PRIMARY KEY NOT NULL REFERENCES tips (id),
    name TEXT,
    phone TEXT,
    created_at TIMESTAMP NOT NULL
);

-- What happened to a tip: routing, verification, outcome, internal notes and public replies
-- (public_message is what the status page shows; note is internal).
CREATE TABLE tip_events (
    id TEXT PRIMARY KEY NOT NULL,
    tip_id TEXT NOT NULL REFERENCES tips (id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    details TEXT NOT NULL,
    note TEXT,
    public_message TEXT,
    actor_id TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX tip_events_tip ON tip_events (tip_id, created_at);

-- Photos sent with a tip; the bytes live in the blob store under their SHA-256.
CREATE TABLE tip_photos (
    id TEXT PRIMARY KEY NOT NULL,
    tip_id TEXT NOT NULL REFERENCES tips (id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX tip_photos_tip ON tip_photos (tip_id, created_at);

-- Spent anti-automation challenges (their nonce), kept until they expire: each answers once,
-- across every instance.
CREATE TABLE tip_challenges_used (
    nonce TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX tip_challenges_used_expiry ON tip_challenges_used (expires_at);
