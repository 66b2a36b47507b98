DROP INDEX hazards_posted;
CREATE INDEX hazards_posted ON hazards (posted_on, id);
