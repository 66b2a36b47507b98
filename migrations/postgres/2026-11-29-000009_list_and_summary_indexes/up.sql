-- The posting index carries every column the summary reads, so `stats/summary` can be an
-- index-only scan; it still serves `posted_from/posted_to` and `sort=posted`.
DROP INDEX hazards_posted;
CREATE INDEX hazards_posted ON hazards (posted_on, id) INCLUDE (
    street_code, primary_department, level, status,
    effective_deadline, deadline, completed_on, cancel_date
);

-- Hazards whose deadline runs, by deadline: "overdue, longest first" and "due within N days"
-- read this in order and stop after the page. PostgreSQL's statistics cannot see that running
-- hazards mostly have deadlines ahead (estimating 130,000 overdue of 1,000,000 where 10,000
-- are), so without it the planner walks every deadline in order, filtering out closed ones.
CREATE INDEX hazards_running_deadline ON hazards (effective_deadline, id)
    WHERE status IN ('on_ledger', 'in_rectification', 'pending_acceptance');
