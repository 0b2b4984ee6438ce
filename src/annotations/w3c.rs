//! W3C Web Annotation interop: the JSON-LD form of annotations (and pages of them), and reading a
//! W3C annotation document as a request to annotate.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Annotation, CreateAnnotation, Motivation, SelectorInput};
use crate::error::{ApiError, FieldError};

/// The JSON-LD context of the Web Annotation model.
pub const CONTEXT: &str = "http://www.w3.org/ns/anno.jsonld";
/// The media type a client asks for (`Accept`) to get JSON-LD.
pub const MEDIA_TYPE: &str = "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"";

/// One value or a list of them, as JSON-LD allows.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// Several values.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A W3C selector into the text of a post.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum W3cSelector {
    /// The passage and its context.
    TextQuoteSelector {
        #[schema(max_length = 50000)]
        exact: String,
        #[serde(default)]
        #[schema(max_length = 1000)]
        prefix: Option<String>,
        #[serde(default)]
        #[schema(max_length = 1000)]
        suffix: Option<String>,
    },
    /// Offsets in code points of the post's `body_text`.
    TextPositionSelector { start: u64, end: u64 },
    /// Any other selector type: ignored.
    #[serde(other)]
    Other,
}

/// The target of an annotation: the post (or, for a reply, the annotation) and where in it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct W3cTarget {
    /// The post's URL (or the annotated annotation's URL, for a reply).
    #[serde(default)]
    #[schema(max_length = 2000, required = true)]
    pub source: Option<String>,
    /// Both selectors of the passage (absent for replies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub selector: Option<Vec<W3cSelector>>,
}

/// A textual body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct W3cBody {
    /// Always `TextualBody`.
    #[serde(rename = "type", default)]
    #[schema(max_length = 64)]
    pub kind: Option<String>,
    /// The text (Markdown, up to 10,000 characters) or the tag (up to 50).
    #[schema(max_length = 10000)]
    pub value: Option<String>,
    /// `text/markdown` for the annotation's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, nullable = false)]
    pub format: Option<String>,
    /// `tagging` for a tag; the motivation for the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, nullable = false)]
    pub purpose: Option<String>,
}

/// The creator of an annotation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct W3cAgent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub nickname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub name: Option<String>,
}

/// An annotation in W3C JSON-LD.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"@context": "http://www.w3.org/ns/anno.jsonld", "id": "http://127.0.0.1:8080/api/v1/w3c/annotations/7",
    "type": "Annotation", "motivation": "commenting",
    "creator": {"id": "http://127.0.0.1:8080/api/v1/users/lin", "type": "Person", "nickname": "lin"},
    "created": "2025-07-16T11:00:00Z", "modified": "2025-07-16T11:00:00Z",
    "body": [{"type": "TextualBody", "value": "This commits to very little.", "format": "text/markdown", "purpose": "commenting"}],
    "target": {"source": "http://127.0.0.1:8080/api/v1/posts/145", "selector": [
        {"type": "TextQuoteSelector", "exact": "strengthen mutual support", "prefix": "should “", "suffix": "”"},
        {"type": "TextPositionSelector", "start": 112, "end": 137}]}}))]
pub struct W3cAnnotation {
    #[serde(rename = "@context")]
    pub context: String,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub motivation: Motivation,
    pub creator: W3cAgent,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub body: Vec<W3cBody>,
    pub target: W3cTarget,
}

/// The collection a page belongs to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct W3cCollectionRef {
    /// The list's IRI (without a page).
    pub id: String,
    /// Always `AnnotationCollection`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Annotations in the whole list.
    pub total: i64,
}

/// A page of annotations in W3C JSON-LD.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct W3cAnnotationPage {
    #[serde(rename = "@context")]
    pub context: String,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The whole list, with its total.
    #[serde(rename = "partOf")]
    pub part_of: W3cCollectionRef,
    /// The next page's IRI; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next: Option<String>,
    /// The previous page's IRI; absent on the first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub prev: Option<String>,
    #[serde(rename = "startIndex")]
    pub start_index: i64,
    pub items: Vec<W3cAnnotation>,
}

impl W3cAnnotationPage {
    /// A page of the list at `list` (an IRI without a page), from Gloss's page of it.
    pub fn from_page(list: &str, page: &crate::pagination::Page<Annotation>, base: &str) -> Self {
        let at = |n: u32| format!("{list}?page={n}&per_page={}", page.per_page);
        W3cAnnotationPage {
            context: CONTEXT.into(),
            id: at(page.page),
            kind: "AnnotationPage".into(),
            part_of: W3cCollectionRef {
                id: list.to_string(),
                kind: "AnnotationCollection".into(),
                total: page.total,
            },
            next: (i64::from(page.page) < page.total_pages).then(|| at(page.page + 1)),
            prev: (page.page > 1).then(|| at(page.page - 1)),
            start_index: (i64::from(page.page) - 1) * i64::from(page.per_page),
            items: page
                .items
                .iter()
                .map(|a| from_annotation(a, base))
                .collect(),
        }
    }
}

/// A W3C annotation document sent to `POST /w3c/posts/{id}/annotations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct W3cAnnotationInput {
    #[serde(rename = "@context", default)]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub context: Option<serde_json::Value>,
    #[serde(rename = "type", default)]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub kind: Option<serde_json::Value>,
    /// One motivation (or a list; the first is used).
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub motivation: Option<OneOrMany<String>>,
    /// TextualBody objects: the text, and any tags (`purpose: tagging`).
    #[serde(default)]
    #[schema(value_type = Option<Vec<W3cBody>>)]
    pub body: Option<OneOrMany<W3cBody>>,
    /// A plain-text body (up to 10,000 characters).
    #[serde(rename = "bodyValue", default)]
    #[schema(max_length = 10000)]
    pub body_value: Option<String>,
    /// Gloss's extension: `public` (default) or `private`.
    #[serde(default)]
    pub visibility: Option<super::model::Visibility>,
    pub target: W3cTargetInput,
}

/// The target of a W3C annotation sent in.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct W3cTargetInput {
    /// The post's URL; when given, it must name the post in the request path.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub source: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<W3cSelector>>)]
    pub selector: Option<OneOrMany<W3cSelector>>,
}

/// Reads a W3C annotation document as Gloss's own create request.
pub fn to_create(input: W3cAnnotationInput, post_id: i64) -> Result<CreateAnnotation, ApiError> {
    check_ignored_lengths(&input)?;
    let motivation_name = input
        .motivation
        .and_then(|m| m.into_vec().into_iter().next())
        .map(|m| m.trim_start_matches("oa:").to_string())
        .unwrap_or_else(|| "highlighting".into());
    let motivation: Motivation = serde_json::from_value(serde_json::Value::String(motivation_name))
        .map_err(|_| {
            ApiError::invalid_field("motivation", "is not a W3C motivation this server knows")
        })?;
    let mut text = input.body_value;
    let mut tags = Vec::new();
    for b in input.body.map(OneOrMany::into_vec).unwrap_or_default() {
        match (b.purpose.as_deref(), b.value) {
            (Some("tagging"), Some(v)) => tags.push(v),
            (_, Some(v)) if text.is_none() => text = Some(v),
            _ => {}
        }
    }
    if let Some(source) = &input.target.source {
        if !source
            .trim_end_matches('/')
            .ends_with(&format!("/posts/{post_id}"))
        {
            return Err(ApiError::validation(vec![FieldError {
                field: "target.source".into(),
                message: format!("must be this post's URL (ending in /posts/{post_id})"),
            }]));
        }
    }
    let mut selector = SelectorInput::default();
    for s in input
        .target
        .selector
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
    {
        match s {
            W3cSelector::TextQuoteSelector {
                exact,
                prefix,
                suffix,
            } => {
                selector.exact = Some(exact);
                selector.prefix = prefix;
                selector.suffix = suffix;
            }
            W3cSelector::TextPositionSelector { start, end } => {
                selector.start = Some(start);
                selector.end = Some(end);
            }
            W3cSelector::Other => {}
        }
    }
    Ok(CreateAnnotation {
        motivation,
        body: text,
        tags,
        visibility: input.visibility,
        selector,
    })
}

/// The parts of a W3C document that Gloss reads only to ignore still have the documented maximum
/// lengths (the text, tags and selectors are checked later, as for Gloss's own form).
fn check_ignored_lengths(input: &W3cAnnotationInput) -> Result<(), ApiError> {
    fn strings(v: &serde_json::Value) -> Vec<&str> {
        match v {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) => a.iter().filter_map(|s| s.as_str()).collect(),
            _ => vec![],
        }
    }
    let mut checks: Vec<(&str, &str, usize)> = Vec::new();
    for s in input.context.iter().flat_map(strings) {
        checks.push(("@context", s, 200));
    }
    for s in input.kind.iter().flat_map(strings) {
        checks.push(("type", s, 64));
    }
    if let Some(m) = &input.motivation {
        let all: Vec<&String> = match m {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v.iter().collect(),
        };
        for s in all {
            checks.push(("motivation", s, 64));
        }
    }
    let bodies: Vec<&W3cBody> = match &input.body {
        Some(OneOrMany::One(b)) => vec![b],
        Some(OneOrMany::Many(v)) => v.iter().collect(),
        None => vec![],
    };
    for b in bodies {
        for (field, value) in [
            ("body.type", &b.kind),
            ("body.format", &b.format),
            ("body.purpose", &b.purpose),
        ] {
            if let Some(v) = value {
                checks.push((field, v, 64));
            }
        }
    }
    if let Some(source) = &input.target.source {
        checks.push(("target.source", source, 2000));
    }
    let errors: Vec<FieldError> = checks
        .into_iter()
        .filter(|(_, value, max)| value.chars().count() > *max)
        .map(|(field, _, max)| FieldError {
            field: field.into(),
            message: format!("must be at most {max} characters"),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// The JSON-LD form of an annotation. `base` is the server's public URL.
pub fn from_annotation(a: &Annotation, base: &str) -> W3cAnnotation {
    let mut body = Vec::new();
    if let Some(text) = &a.body {
        body.push(W3cBody {
            kind: Some("TextualBody".into()),
            value: Some(text.clone()),
            format: Some("text/markdown".into()),
            purpose: Some(a.motivation.as_str().into()),
        });
    }
    for t in &a.tags {
        body.push(W3cBody {
            kind: Some("TextualBody".into()),
            value: Some(t.clone()),
            format: None,
            purpose: Some("tagging".into()),
        });
    }
    let target = match (&a.parent_id, &a.target) {
        (Some(parent), _) => W3cTarget {
            source: Some(format!("{base}/api/v1/w3c/annotations/{parent}")),
            selector: None,
        },
        (None, Some(t)) => {
            let mut selectors = vec![W3cSelector::TextQuoteSelector {
                exact: t.selector.exact.clone(),
                prefix: Some(t.selector.prefix.clone()),
                suffix: Some(t.selector.suffix.clone()),
            }];
            if let (Some(start), Some(end)) = (t.selector.start, t.selector.end) {
                selectors.push(W3cSelector::TextPositionSelector {
                    start: start as u64,
                    end: end as u64,
                });
            }
            W3cTarget {
                source: Some(format!("{base}/api/v1/posts/{}", a.post_id)),
                selector: Some(selectors),
            }
        }
        (None, None) => W3cTarget {
            source: Some(format!("{base}/api/v1/posts/{}", a.post_id)),
            selector: None,
        },
    };
    W3cAnnotation {
        context: CONTEXT.into(),
        id: format!("{base}/api/v1/w3c/annotations/{}", a.id),
        kind: "Annotation".into(),
        motivation: a.motivation,
        creator: W3cAgent {
            id: format!("{base}/api/v1/users/{}", a.author.username),
            kind: "Person".into(),
            nickname: a.author.username.clone(),
            name: a.author.display_name.clone(),
        },
        created: a.created_at,
        modified: a.updated_at,
        body,
        target,
    }
}
