//! Notifications: replies in watched threads, new threads in watched forums, mentions, citations,
//! annotations and replies to annotations, reactions. Never for one's own action, never about what
//! the recipient may not see, never two for one event.

pub mod db;
pub mod http;
pub mod view;
