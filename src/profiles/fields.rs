//! Profile field types and the check of a member's value, shared by the profile field endpoints
//! and the member's own profile edits.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::db::ProfileFieldRow;

/// The type of a profile field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProfileFieldType {
    /// Free text, at most 100 characters.
    Text,
    /// One of the field's `options`.
    Choice,
    /// An ISO 3166-1 alpha-2 country code, e.g. `CN`.
    Country,
}

impl ProfileFieldType {
    /// The stored name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileFieldType::Text => "text",
            ProfileFieldType::Choice => "choice",
            ProfileFieldType::Country => "country",
        }
    }

    /// Reads a stored type (unknown ones read as text).
    pub fn parse(s: &str) -> Self {
        match s {
            "choice" => ProfileFieldType::Choice,
            "country" => ProfileFieldType::Country,
            _ => ProfileFieldType::Text,
        }
    }
}
/// Checks a member's value for a profile field; the message says what is expected.
pub fn check_value(field: &ProfileFieldRow, value: &str) -> Result<String, String> {
    let v = value.trim();
    match ProfileFieldType::parse(&field.field_type) {
        ProfileFieldType::Text => {
            if v.is_empty() || v.chars().count() > 100 {
                return Err("must be 1 to 100 characters".into());
            }
            Ok(v.to_string())
        }
        ProfileFieldType::Choice => {
            let options: Vec<String> = field
                .options
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or_default();
            if options.iter().any(|o| o == v) {
                Ok(v.to_string())
            } else {
                Err(format!("must be one of: {}", options.join(", ")))
            }
        }
        ProfileFieldType::Country => {
            let code = v.to_ascii_uppercase();
            if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
                Ok(code)
            } else {
                Err("must be a two-letter ISO 3166-1 country code such as CN".into())
            }
        }
    }
}
