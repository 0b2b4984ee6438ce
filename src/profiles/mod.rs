//! Profiles: admin-defined profile fields (e.g. "Nation", "Residence"), user groups with badges,
//! and the rank ladder by message count.

pub mod db;
pub mod fields;
pub mod http;
