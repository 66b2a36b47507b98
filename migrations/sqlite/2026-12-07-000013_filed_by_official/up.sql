-- Whether an official filed the hazard (a street officer's or an inspector's finding, or a
-- confirmed tip-off) rather than the enterprise: such a draft is seen by every official in
-- scope, and its finding (title, description, location, date, category, source, sectors,
-- level) is not the enterprise's to rewrite.
ALTER TABLE hazards ADD COLUMN filed_by_official BOOLEAN NOT NULL DEFAULT 0;
UPDATE hazards SET filed_by_official = 1
WHERE reporter_id IN (
    SELECT id FROM users WHERE role IN ('street_officer', 'department_inspector', 'district_office')
);
