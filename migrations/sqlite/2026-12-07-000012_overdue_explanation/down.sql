DROP INDEX hazards_posted;
CREATE INDEX hazards_posted ON hazards (
    posted_on, id, street_code, primary_department, level, status,
    effective_deadline, deadline, completed_on, cancel_date, submitted_on, discovered_on,
    employee_notice, interview_flagged_on
);
ALTER TABLE hazards DROP COLUMN explanation_owed_on;
