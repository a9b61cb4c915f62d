//! Black-box tests: the real server, a fresh database per test, on both backends.

mod accounts;
mod cluster;
mod deploy;
mod fake_telegram;
mod helpers;
mod limits;
mod live;
mod malformed;
mod messaging;
mod metrics;
mod openapi;
mod operations;
mod outage;
mod sessions;
mod telegram;
