DROP TABLE calendar_days;
DROP TABLE hazard_categories;
DROP TABLE sectors;
DROP TABLE departments;
DROP TABLE streets;
