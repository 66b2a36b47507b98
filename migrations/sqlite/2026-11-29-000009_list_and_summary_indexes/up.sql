-- The posting index carries every column the summary reads, so `stats/summary` reads the index
-- alone (no table row per hazard); it still serves `posted_from/posted_to` and `sort=posted`.
DROP INDEX hazards_posted;
CREATE INDEX hazards_posted ON hazards (
    posted_on, id, street_code, primary_department, level, status,
    effective_deadline, deadline, completed_on, cancel_date
);
