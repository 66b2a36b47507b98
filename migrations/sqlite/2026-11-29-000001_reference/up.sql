-- Reference data of the district: streets/town, departments, sectors and their routing,
-- hazard categories, the judgement standards and the State Council working-day calendar.
CREATE TABLE streets (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
);

CREATE TABLE departments (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('department', 'district_office')),
    remit TEXT NOT NULL DEFAULT ''
);

CREATE TABLE sectors (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    primary_department TEXT NOT NULL REFERENCES departments (code),
    major_standard TEXT
);

CREATE TABLE hazard_categories (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
);

CREATE TABLE calendar_days (
    day DATE PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'working_weekend'))
);
