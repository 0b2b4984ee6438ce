//! HTTP-level integration tests. Every `db_test!` runs once on SQLite and once on PostgreSQL.

mod common;

mod annotations;
mod attachments;
mod auth;
mod avatars;
mod community;
mod counters;
mod crowd;
mod demo;
mod errors;
mod forums;
mod hardening;
mod hostile;
mod http_conventions;
mod idempotency;
mod limits;
mod metrics;
mod openapi;
mod operations;
mod pages;
mod permissions;
mod posts;
mod profiles;
mod rerender;
mod review_fixes;
mod scale;
mod search;
mod stream;
mod threads;
mod users;
mod w3c;
