//! The messenger's rules: accounts, sessions, the directory, chats and messages.
//!
//! Nothing here knows about HTTP or HTML. The parts that the browser shares
//! (`model`, `protocol`, `error`, `input`) always compile, also to WASM; the parts that
//! touch the database are behind the `ssr` feature.

#![warn(missing_docs)]

pub mod error;
pub mod input;
pub mod model;
pub mod protocol;

#[cfg(feature = "ssr")]
mod ssr;
#[cfg(feature = "ssr")]
pub use ssr::*;

pub use error::{DomainError, ErrorKind, Problem, PublicError};
