//! Image attachments: uploads stored as WebP made by Gloss (`db` records them against the quota
//! and counts the content-addressed files, `view` is what clients read, `http` the endpoints),
//! shown in posts by `![caption](attachment:ID)`, and removed a day after upload when no post
//! shows them (`cleanup`).

pub mod cleanup;
pub mod db;
pub mod http;
pub mod view;
