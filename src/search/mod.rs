//! Full-text search over thread titles, posts and annotations: the index kept in step with every
//! write (`index`), the ranked query on each database (`db`), and hits as clients read them, with
//! snippets and the offsets of what matched (`view`).

pub mod db;
pub mod http;
pub mod index;
pub mod view;
