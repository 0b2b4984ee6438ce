//! Threads: creation with their first post, lists, moderation, and view counting.

pub mod db;
pub mod filter;
pub mod http;
pub mod view;
pub mod view_counter;
