-- 重大 hazards by status and deadline: "which 重大 hazards of a department are overdue, longest
-- first" walks only the running 重大 ones in deadline order, probing the department.
CREATE INDEX hazards_level_status_deadline ON hazards (level, status, effective_deadline, id);
