//! Hazard Ledger (隐患台账): the 重大事故隐患 "双报告" system and the closed-loop hazard ledger
//! of a Shanghai district. The binary in `main.rs` only parses the command line; everything
//! else lives here so that tests drive the same code.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
mod cli_user;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod documents;
pub mod domain;
pub mod error;
pub mod export;
pub mod generate;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod policy;
pub mod seeds;
pub mod service;
pub mod storage;
pub mod telemetry;
pub mod timefmt;
pub mod web;
