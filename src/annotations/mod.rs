//! Analyze Post: annotations on a passage of a post (highlight, respond), replies to them,
//! citations of a passage in another post (cite), W3C JSON-LD interop, and re-anchoring of every
//! selector when a post's text changes.

pub mod citations;
pub mod db;
pub mod heatmap;
pub mod http;
pub mod model;
pub mod reanchor;
pub mod w3c;
