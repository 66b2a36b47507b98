-- Since when the enterprise owes a written explanation (书面说明) of an overdue hazard: set by
-- the escalation rule overdue_first (+1 day overdue), cleared when the enterprise files it
-- (record `overdue_explanation`). Kept on the row for the compliance flag
-- `overdue_explanation_missing`, which the summary counts from the posting index.
ALTER TABLE hazards ADD COLUMN explanation_owed_on DATE NULL;
UPDATE hazards SET explanation_owed_on = (
    SELECT MAX(e.as_of) FROM escalations e
    WHERE e.hazard_id = hazards.id AND e.rule = 'overdue_first'
)
WHERE status NOT IN ('closed', 'void')
  AND EXISTS (SELECT 1 FROM escalations e WHERE e.hazard_id = hazards.id AND e.rule = 'overdue_first');

DROP INDEX hazards_posted;
CREATE INDEX hazards_posted ON hazards (posted_on, id) INCLUDE (
    street_code, primary_department, level, status,
    effective_deadline, deadline, completed_on, cancel_date, submitted_on, discovered_on,
    employee_notice, interview_flagged_on, explanation_owed_on
);
