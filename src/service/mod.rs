//! Work that spans the domain and the store, shared by the API, the pages and the jobs.

pub mod hazards;
pub mod tips;
