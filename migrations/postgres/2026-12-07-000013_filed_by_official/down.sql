ALTER TABLE hazards DROP COLUMN filed_by_official;
