//! Black-box tests: the real server, a fresh database per test, on both backends.

mod accounts;
mod helpers;
mod live;
mod messaging;
mod operations;
