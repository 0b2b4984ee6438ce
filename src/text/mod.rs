//! Pure text logic, with no database and no HTTP: Markdown to safe HTML and to the plain text a
//! reader sees (`body_text`, the text annotations point into).

mod markdown;

pub use markdown::{render, Rendered};
