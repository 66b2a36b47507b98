//! Cross-cutting HTTP middleware: request IDs and request logs, panics, security headers.

pub mod middleware;
