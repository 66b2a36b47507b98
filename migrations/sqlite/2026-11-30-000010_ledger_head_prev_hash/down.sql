ALTER TABLE ledger_head DROP COLUMN prev_hash;
