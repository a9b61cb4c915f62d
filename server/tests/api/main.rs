//! Black-box tests: the real server, a fresh database per test, on both backends.

mod accounts;
mod cluster;
mod helpers;
mod live;
mod messaging;
mod operations;
mod outage;
