DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE enterprise_sectors;
DROP TABLE enterprises;
