//! A custom-field filter as a client writes it (`field` with `eq`, `min` and/or `max`), checked
//! against the forum's field definitions: for a forum's thread list and for search.

use crate::db::DbConn;
use crate::error::ApiError;
use crate::forums::db as forum_db;
use crate::forums::fields::{self, FieldType};

use super::db::FieldFilter;

/// The filter on forum `forum_id`'s field `field`, with its bounds checked and written as values
/// are stored; `None` without a field. 422s name the parameter at fault.
pub fn field_filter(
    conn: &mut DbConn,
    forum_id: i64,
    field: &Option<String>,
    eq: &Option<String>,
    min: &Option<String>,
    max: &Option<String>,
) -> Result<Option<FieldFilter>, ApiError> {
    Ok(match field {
        None => {
            if eq.is_some() || min.is_some() || max.is_some() {
                return Err(ApiError::invalid_field(
                    "field",
                    "is required with eq, min or max",
                ));
            }
            None
        }
        Some(key) => {
            let defs = forum_db::fields(conn, forum_id)?;
            let def = defs
                .iter()
                .find(|d| &d.key == key)
                .ok_or_else(|| ApiError::invalid_field("field", "is not a field of this forum"))?;
            let kind = FieldType::parse(&def.field_type).unwrap_or(FieldType::Text);
            // Values compare in stored form: check and normalize each bound like a value.
            let norm = |name: &str, raw: &Option<String>| -> Result<Option<String>, ApiError> {
                let Some(raw) = raw else { return Ok(None) };
                let json = match kind {
                    FieldType::Number => raw
                        .parse::<f64>()
                        .map(|n| serde_json::json!(n))
                        .map_err(|_| ApiError::invalid_field(name, "must be a number"))?,
                    _ => serde_json::Value::String(raw.clone()),
                };
                match kind {
                    FieldType::Text | FieldType::Choice | FieldType::Url if name != "eq" => {
                        Ok(Some(raw.clone()))
                    }
                    _ => fields::check_value(def, &json)
                        .map(|v| Some(v.value_text))
                        .map_err(|m| ApiError::invalid_field(name, m)),
                }
            };
            Some(FieldFilter {
                field_id: def.id,
                numeric: kind == FieldType::Number,
                eq: norm("eq", eq)?,
                min: norm("min", min)?,
                max: norm("max", max)?,
            })
        }
    })
}
