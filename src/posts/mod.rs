//! Posts: replies, page-based reading by position, edits with revisions, soft deletion.

pub mod db;
pub mod http;
pub mod lookup;
pub mod validate;
pub mod view;
