//! Reactions: members react to posts with a configured set of kinds (at least `like`).

pub mod db;
pub mod http;
pub mod view;
