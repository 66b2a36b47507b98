-- Whether the hazard was made known to employees (信息公示), kept with the row beside its
-- `employee_notice` records, so that the summary counts `employee_notice_missing` from the
-- posting index instead of looking up the records of every hazard.
ALTER TABLE hazards ADD COLUMN employee_notice BOOLEAN NOT NULL DEFAULT 0;
UPDATE hazards SET employee_notice = 1
WHERE EXISTS (SELECT 1 FROM hazard_records r WHERE r.hazard_id = hazards.id AND r.kind = 'employee_notice');

-- When the hazard was flagged for 约谈/通报 (the escalation rule overdue_interview: +30 days
-- overdue, or overdue a second time while listed), kept with the row beside its escalation.
ALTER TABLE hazards ADD COLUMN interview_flagged_on DATE NULL;
UPDATE hazards SET interview_flagged_on = (
    SELECT MIN(e.as_of) FROM escalations e
    WHERE e.hazard_id = hazards.id AND e.rule = 'overdue_interview'
)
WHERE EXISTS (
    SELECT 1 FROM escalations e WHERE e.hazard_id = hazards.id AND e.rule = 'overdue_interview'
);

-- The summary also counts the compliance flags, which read the submission and discovery dates
-- and the notice: the posting index carries them too, so the summary still reads it alone.
DROP INDEX hazards_posted;
CREATE INDEX hazards_posted ON hazards (
    posted_on, id, street_code, primary_department, level, status,
    effective_deadline, deadline, completed_on, cancel_date, submitted_on, discovered_on,
    employee_notice, interview_flagged_on
);
