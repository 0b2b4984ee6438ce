//! Forums: a tree of categories and forums, with per-forum thread prefixes and custom thread fields.

pub mod db;
pub mod fields;
pub mod http;
pub mod view;
