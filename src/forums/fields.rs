//! Custom thread fields: their types, and the checking of the values a thread carries.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::db::FieldRow;
use crate::error::{ApiError, FieldError};

/// The type of a custom thread field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Free text, at most 500 characters.
    Text,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An `http` or `https` URL.
    Url,
    /// A JSON number.
    Number,
    /// One of the field's `options`.
    Choice,
}

impl FieldType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Date => "date",
            FieldType::Url => "url",
            FieldType::Number => "number",
            FieldType::Choice => "choice",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<FieldType> {
        Some(match s {
            "text" => FieldType::Text,
            "date" => FieldType::Date,
            "url" => FieldType::Url,
            "number" => FieldType::Number,
            "choice" => FieldType::Choice,
            _ => return None,
        })
    }
}

/// A field value: a number for `number` fields, a string for every other type (dates as
/// `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum FieldValue {
    /// For `number` fields.
    Number(f64),
    /// For `text`, `date`, `url` and `choice` fields.
    Text(String),
}

/// A value checked against its definition, in stored form.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredValue {
    pub field_id: i64,
    pub value_text: String,
    pub value_number: Option<f64>,
}

/// The options of a `choice` field, from their stored JSON.
pub fn options_of(row: &FieldRow) -> Option<Vec<String>> {
    row.options
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
}

/// The value as sent to clients, typed by its definition.
pub fn to_api(row: &FieldRow, value_text: &str, value_number: Option<f64>) -> FieldValue {
    match (FieldType::parse(&row.field_type), value_number) {
        (Some(FieldType::Number), Some(n)) => FieldValue::Number(n),
        _ => FieldValue::Text(value_text.to_string()),
    }
}

/// Checks one value against its definition; the error message says what is expected.
pub fn check_value(row: &FieldRow, value: &serde_json::Value) -> Result<StoredValue, String> {
    let kind = FieldType::parse(&row.field_type).ok_or("has an unknown type")?;
    let text = || {
        value
            .as_str()
            .map(str::trim)
            .ok_or_else(|| format!("must be a string ({})", kind.as_str()))
    };
    let (value_text, value_number) = match kind {
        FieldType::Text => {
            let t = text()?;
            if t.is_empty() || t.chars().count() > 500 {
                return Err("must be 1 to 500 characters".into());
            }
            (t.to_string(), None)
        }
        FieldType::Date => {
            let t = text()?;
            let d = NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map_err(|_| "must be a date as YYYY-MM-DD".to_string())?;
            (d.format("%Y-%m-%d").to_string(), None)
        }
        FieldType::Url => {
            let t = text()?;
            let u = url::Url::parse(t).map_err(|_| "must be an http or https URL".to_string())?;
            if !matches!(u.scheme(), "http" | "https") || t.len() > 2000 {
                return Err("must be an http or https URL of at most 2000 characters".into());
            }
            (u.to_string(), None)
        }
        FieldType::Number => {
            let n = value
                .as_f64()
                .filter(|n| n.is_finite())
                .ok_or("must be a number")?;
            (n.to_string(), Some(n))
        }
        FieldType::Choice => {
            let t = text()?;
            let options = options_of(row).unwrap_or_default();
            if !options.iter().any(|o| o == t) {
                return Err(format!("must be one of: {}", options.join(", ")));
            }
            (t.to_string(), None)
        }
    };
    Ok(StoredValue {
        field_id: row.id,
        value_text,
        value_number,
    })
}

/// Checks a thread's whole set of field values against the forum's definitions: unknown keys,
/// wrong types and missing required fields are each a 422 naming `fields.<key>`.
pub fn check_values(
    defs: &[FieldRow],
    values: &BTreeMap<String, serde_json::Value>,
) -> Result<Vec<StoredValue>, ApiError> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (key, value) in values {
        let field = format!("fields.{key}");
        match defs.iter().find(|d| &d.key == key) {
            None => errors.push(FieldError {
                field,
                message: "is not a field of this forum".into(),
            }),
            Some(_) if value.is_null() => {}
            Some(def) => match check_value(def, value) {
                Ok(v) => out.push(v),
                Err(message) => errors.push(FieldError { field, message }),
            },
        }
    }
    for def in defs.iter().filter(|d| d.required) {
        if !out.iter().any(|v| v.field_id == def.id)
            && !errors
                .iter()
                .any(|e| e.field == format!("fields.{}", def.key))
        {
            errors.push(FieldError {
                field: format!("fields.{}", def.key),
                message: "is required".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(id: i64, key: &str, kind: &str, required: bool, options: Option<&str>) -> FieldRow {
        FieldRow {
            id,
            forum_id: 1,
            key: key.into(),
            label: key.into(),
            description: None,
            field_type: kind.into(),
            options: options.map(str::to_string),
            required,
            position: 0,
            created_at: chrono::NaiveDateTime::default(),
        }
    }

    #[test]
    fn values_are_checked_by_type() {
        let defs = vec![
            def(1, "date_of_event", "date", true, None),
            def(2, "source", "url", false, None),
            def(3, "casualties", "number", false, None),
            def(
                4,
                "theatre",
                "choice",
                false,
                Some(r#"["land","sea","air"]"#),
            ),
        ];
        let ok: BTreeMap<_, _> = [
            ("date_of_event".to_string(), json!("2025-07-16")),
            ("source".to_string(), json!("https://example.org/a")),
            ("casualties".to_string(), json!(3)),
            ("theatre".to_string(), json!("sea")),
        ]
        .into();
        let v = check_values(&defs, &ok).unwrap();
        assert_eq!(v.len(), 4);
        let bad: BTreeMap<_, _> = [
            ("date_of_event".to_string(), json!("16/07/2025")),
            ("source".to_string(), json!("javascript:alert(1)")),
            ("casualties".to_string(), json!("three")),
            ("theatre".to_string(), json!("space")),
            ("nope".to_string(), json!(1)),
        ]
        .into();
        let e = check_values(&defs, &bad).unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "fields.casualties",
                "fields.date_of_event",
                "fields.nope",
                "fields.source",
                "fields.theatre"
            ]
        );
        let e = check_values(&defs, &BTreeMap::new()).unwrap_err();
        assert_eq!(e.errors[0].field, "fields.date_of_event");
        assert_eq!(e.errors[0].message, "is required");
    }
}
