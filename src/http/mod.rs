//! Cross-cutting HTTP middleware: request IDs and request logs, panics, security headers,
//! idempotency keys.

pub mod idempotency;
pub mod json;
pub mod middleware;
pub mod query;
