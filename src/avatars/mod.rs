//! Avatars: a member uploads a picture (`PUT /me/avatar`), Gloss crops it square in three sizes,
//! and author cards carry their URLs. The files are content-addressed and counted with the
//! attachments' (`media::db`).

pub mod db;
pub mod http;
