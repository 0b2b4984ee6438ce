//! Authentication: passwords, access and refresh tokens, and the extractors handlers use.

pub mod db;
mod extract;
pub mod http;
pub mod passwords;
pub mod tokens;

pub(crate) use extract::bearer;
pub use extract::{AuthUser, MaybeUser};
