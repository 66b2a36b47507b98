-- Enterprises, users and sessions.
CREATE TABLE enterprises (
    id TEXT PRIMARY KEY NOT NULL,
    uscc TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    street_code TEXT NOT NULL REFERENCES streets (code),
    headcount INTEGER NOT NULL CHECK (headcount >= 0),
    principal_name TEXT NOT NULL,
    principal_mobile TEXT NOT NULL,
    safety_officer_name TEXT,
    safety_officer_mobile TEXT,
    notify_emails TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX enterprises_street ON enterprises (street_code, id);

CREATE TABLE enterprise_sectors (
    enterprise_id TEXT NOT NULL REFERENCES enterprises (id),
    sector_code TEXT NOT NULL REFERENCES sectors (code),
    position INTEGER NOT NULL,
    PRIMARY KEY (enterprise_id, sector_code)
);
CREATE INDEX enterprise_sectors_sector ON enterprise_sectors (sector_code, enterprise_id);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL,
    enterprise_id TEXT REFERENCES enterprises (id),
    street_code TEXT REFERENCES streets (code),
    department_code TEXT REFERENCES departments (code),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    token_version INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    last_login_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (num_nonnulls(enterprise_id, street_code, department_code) = 1)
);
CREATE INDEX users_enterprise ON users (enterprise_id);
CREATE INDEX users_street ON users (street_code);
CREATE INDEX users_department ON users (department_code);

-- A login session: the family of rotating refresh tokens issued from one login.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_reason TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens, stored only as SHA-256 hashes; a used one may never be used again.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
