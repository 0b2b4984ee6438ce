//! HTTP-level integration tests. Every `db_test!` runs once on SQLite and once on PostgreSQL.

mod common;

mod auth;
mod errors;
mod openapi;
mod operations;
mod users;
