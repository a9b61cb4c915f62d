//! Table mappings (sea-orm). Only `domain` queries them.

pub mod session;
pub mod user;
