//! Whole pages in one request: the thread page (the thread, where it sits, its fields with their
//! labels, a page of posts, and the blocks beside them) and the site-wide blocks (members online,
//! latest posts, statistics). Each page is assembled in one place, so that caching it is one
//! change; the resources' own endpoints stay for clients that need one part.

pub mod cache;
pub mod http;
pub mod site;
pub mod thread;
