-- The head also keeps the hash it replaced (the newest entry's prev_hash), so that PostgreSQL
-- can append an entry in one statement: one UPDATE of the head reads the old hash, computes the
-- new one and hands both to the INSERT of the entry.
ALTER TABLE ledger_head ADD COLUMN prev_hash TEXT;
UPDATE ledger_head SET prev_hash = (SELECT e.prev_hash FROM ledger_entries e WHERE e.seq = ledger_head.seq);
