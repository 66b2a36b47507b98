DROP TABLE tip_challenges_used;
DROP TABLE tip_photos;
DROP TABLE tip_events;
DROP TABLE tip_contacts;
DROP TABLE tips;
