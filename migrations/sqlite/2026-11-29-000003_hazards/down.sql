DROP TABLE ledger_head;
DROP TABLE ledger_entries;
DROP TABLE ledger_numbers;
DROP TABLE attachments;
DROP TABLE hazard_records;
DROP TABLE hazard_departments;
DROP TABLE hazard_sectors;
DROP TABLE hazards;
