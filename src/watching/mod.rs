//! Watching threads and forums, and reading: read markers per member and thread, unread state,
//! "posts you haven't read yet", and marking a forum read.

pub mod db;
pub mod http;
