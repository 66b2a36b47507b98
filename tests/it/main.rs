//! The one integration test binary. Every test that touches a database runs twice: on a fresh
//! SQLite file, and on a fresh PostgreSQL database when `TEST_POSTGRES_URL` is set.

mod common;

mod cli;
mod concurrency;
mod contract;
mod crash;
mod foundation;
mod hazards;
mod identity;
mod jobs;
mod pages;
mod supervision;
mod tips;
