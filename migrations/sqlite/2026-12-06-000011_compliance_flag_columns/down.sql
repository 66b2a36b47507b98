DROP INDEX hazards_posted;
CREATE INDEX hazards_posted ON hazards (
    posted_on, id, street_code, primary_department, level, status,
    effective_deadline, deadline, completed_on, cancel_date
);
ALTER TABLE hazards DROP COLUMN employee_notice;
ALTER TABLE hazards DROP COLUMN interview_flagged_on;
