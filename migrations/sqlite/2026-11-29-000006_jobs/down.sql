DROP TABLE outbox;
DROP TABLE escalations;
DROP TABLE job_runs;
