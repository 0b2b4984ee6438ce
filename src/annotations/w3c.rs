//! W3C Web Annotation interop: the JSON-LD form of annotations (and pages of them), and reading a
//! W3C annotation document as a request to annotate.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Annotation, CreateAnnotation, Motivation, SelectorInput};
use crate::error::{ApiError, FieldError};
use crate::pagination::{CursorPage, Page};

/// The JSON-LD context of the Web Annotation model.
pub const CONTEXT: &str = "http://www.w3.org/ns/anno.jsonld";
/// The media type a client asks for (`Accept`) to get JSON-LD.
pub const MEDIA_TYPE: &str = "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"";

/// One value or a list of them, as JSON-LD allows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// Several values (tried first: a list is never read as one value of a type that takes
    /// anything).
    Many(Vec<T>),
    /// A single value.
    One(T),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }

    /// The values, each with the name of its field in error messages (`target`, or `target[1]`
    /// when a list was sent).
    fn named(self, field: &str) -> Vec<(String, T)> {
        match self {
            OneOrMany::One(t) => vec![(field.to_string(), t)],
            OneOrMany::Many(v) => v
                .into_iter()
                .enumerate()
                .map(|(i, t)| (format!("{field}[{i}]"), t))
                .collect(),
        }
    }
}

/// A W3C selector into the text of a post. Gloss anchors an annotation by a TextQuoteSelector
/// and/or a TextPositionSelector; a FragmentSelector or RangeSelector sent beside one is kept as
/// given and returned with the annotation. Other selector types are refused.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum W3cSelector {
    /// The passage and its context.
    TextQuoteSelector {
        #[schema(max_length = 50000)]
        exact: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(max_length = 1000, nullable = false)]
        prefix: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(max_length = 1000, nullable = false)]
        suffix: Option<String>,
    },
    /// Offsets in code points of the post's `body_text`.
    TextPositionSelector { start: u64, end: u64 },
    /// A fragment identifier of the post's representation (kept as data).
    FragmentSelector {
        #[schema(max_length = 2000)]
        value: String,
        /// The specification the fragment follows (an IRI).
        #[serde(
            rename = "conformsTo",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        #[schema(max_length = 2000, nullable = false)]
        conforms_to: Option<String>,
    },
    /// A range from one selection to another (kept as data).
    RangeSelector {
        /// The selector where the range starts (an object with a `type`, kept as given).
        #[serde(rename = "startSelector")]
        #[schema(value_type = W3cKeptSelector)]
        start_selector: serde_json::Value,
        /// The selector where the range ends (an object with a `type`, kept as given).
        #[serde(rename = "endSelector")]
        #[schema(value_type = W3cKeptSelector)]
        end_selector: serde_json::Value,
    },
}

/// A selector Gloss keeps as given (the ends of a RangeSelector): an object with a `type`, and
/// whatever that type of selector holds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct W3cKeptSelector {
    /// The selector's type, such as `XPathSelector` or `TextPositionSelector`.
    #[serde(rename = "type")]
    #[schema(max_length = 64)]
    pub kind: String,
}

/// The target of an annotation: the post (or, for a reply, the annotated annotation) and where
/// in it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct W3cTarget {
    /// The post's IRI (or the annotated annotation's, for a reply).
    #[schema(max_length = 2000)]
    pub source: String,
    /// The selectors of the passage: alternatives that select the same text (absent for
    /// replies and for a target that is the whole post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub selector: Option<Vec<W3cSelector>>,
}

/// A body of an annotation: a TextualBody (`value`), or an external resource named by its IRI
/// (`id`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct W3cBody {
    /// The IRI of an external body resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000, nullable = false)]
    pub id: Option<String>,
    /// `TextualBody` for text; a resource's class (`Image`, `Text`, …) for others.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, nullable = false)]
    pub kind: Option<String>,
    /// The text (Markdown, up to 10,000 characters) or the tag (up to 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 10000, nullable = false)]
    pub value: Option<String>,
    /// The media type, as given (`text/markdown` when none was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        max_length = 64,
        nullable = false,
        pattern = "^(application|audio|example|image|multipart|text|video)/[^\\u0000]*$"
    )]
    pub format: Option<String>,
    /// The language (BCP 47), as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        max_length = 64,
        nullable = false,
        pattern = "^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$"
    )]
    pub language: Option<String>,
    /// `tagging` for a tag; for the text, the purpose as given (the motivation when none was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Motivation>, nullable = false)]
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
    /// The text, the tags, and any further bodies sent in (absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub body: Vec<W3cBody>,
    /// The passage; a list when further targets on the same post were sent in (the passage
    /// first).
    pub target: OneOrMany<W3cTarget>,
}

/// A list of annotations as a W3C AnnotationCollection: how many there are, and the IRIs of its
/// first and last AnnotationPages.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"@context": "http://www.w3.org/ns/anno.jsonld",
    "id": "http://127.0.0.1:8080/api/v1/w3c/posts/145/annotations", "type": "AnnotationCollection",
    "label": "Annotations on post 145", "total": 42,
    "first": "http://127.0.0.1:8080/api/v1/w3c/posts/145/annotations/pages/1?per_page=20",
    "last": "http://127.0.0.1:8080/api/v1/w3c/posts/145/annotations/pages/3?per_page=20"}))]
pub struct W3cAnnotationCollection {
    #[serde(rename = "@context")]
    pub context: String,
    /// The collection's IRI (this document's address, without the page size).
    pub id: String,
    /// Always `AnnotationCollection`.
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
    /// Annotations in the collection; absent for a member's feed (counting it would cost the
    /// member's whole history on every read).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub total: Option<i64>,
    /// The first page's IRI; absent when the collection is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub first: Option<String>,
    /// The last page's IRI; absent when the collection is empty, and for a member's feed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last: Option<String>,
}

/// A page of annotations in W3C JSON-LD.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct W3cAnnotationPage {
    #[serde(rename = "@context")]
    pub context: String,
    pub id: String,
    /// Always `AnnotationPage`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The IRI of the collection the page belongs to.
    #[serde(rename = "partOf")]
    pub part_of: String,
    /// The next page's IRI; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next: Option<String>,
    /// The previous page's IRI; absent on the first page, and in a member's feed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub prev: Option<String>,
    /// The position of the page's first item in the collection, from 0; absent in a member's
    /// feed.
    #[serde(rename = "startIndex", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub start_index: Option<i64>,
    pub items: Vec<W3cAnnotation>,
}

/// Where a page-numbered list lives: `{list}?{filter}` is the collection,
/// `{list}/pages/{n}?per_page={m}&{filter}` its pages.
pub struct NumberedList {
    /// The collection's IRI without a query.
    pub list: String,
    /// `name=value` pairs that select the collection's members (empty for none).
    pub filter: String,
    pub label: String,
}

impl NumberedList {
    fn collection_id(&self) -> String {
        if self.filter.is_empty() {
            self.list.clone()
        } else {
            format!("{}?{}", self.list, self.filter)
        }
    }

    fn page_id(&self, page: i64, per_page: u32) -> String {
        let filter = if self.filter.is_empty() {
            String::new()
        } else {
            format!("&{}", self.filter)
        };
        format!("{}/pages/{page}?per_page={per_page}{filter}", self.list)
    }

    /// The collection document, from the list's size.
    pub fn collection(&self, total: i64, per_page: u32) -> W3cAnnotationCollection {
        let pages = (total + i64::from(per_page) - 1) / i64::from(per_page);
        W3cAnnotationCollection {
            context: CONTEXT.into(),
            id: self.collection_id(),
            kind: "AnnotationCollection".into(),
            label: self.label.clone(),
            total: Some(total),
            first: (pages > 0).then(|| self.page_id(1, per_page)),
            last: (pages > 0).then(|| self.page_id(pages, per_page)),
        }
    }

    /// A page document, from Gloss's page of the list.
    pub fn page(
        &self,
        page: &Page<Annotation>,
        extras: &HashMap<i64, Extras>,
        base: &str,
    ) -> W3cAnnotationPage {
        let n = i64::from(page.page);
        W3cAnnotationPage {
            context: CONTEXT.into(),
            id: self.page_id(n, page.per_page),
            kind: "AnnotationPage".into(),
            part_of: self.collection_id(),
            next: (n < page.total_pages).then(|| self.page_id(n + 1, page.per_page)),
            prev: (n > 1).then(|| self.page_id(n - 1, page.per_page)),
            start_index: Some((n - 1) * i64::from(page.per_page)),
            items: items(&page.items, extras, base),
        }
    }
}

/// A member's annotations, newest first, paged by cursor: `{list}` is the collection,
/// `{list}/pages?limit={m}[&cursor={cursor}]` its pages.
pub struct FeedList {
    /// The collection's IRI.
    pub list: String,
    pub label: String,
}

impl FeedList {
    fn page_id(&self, cursor: Option<&str>, limit: u32) -> String {
        match cursor {
            Some(c) => format!("{}/pages?limit={limit}&cursor={c}", self.list),
            None => format!("{}/pages?limit={limit}", self.list),
        }
    }

    /// The collection document: its first page (a feed has no count and no last page).
    pub fn collection(&self, limit: u32) -> W3cAnnotationCollection {
        W3cAnnotationCollection {
            context: CONTEXT.into(),
            id: self.list.clone(),
            kind: "AnnotationCollection".into(),
            label: self.label.clone(),
            total: None,
            first: Some(self.page_id(None, limit)),
            last: None,
        }
    }

    /// A page document, from Gloss's page of the feed (`cursor` as the client sent it).
    pub fn page(
        &self,
        cursor: Option<&str>,
        limit: u32,
        page: &CursorPage<Annotation>,
        extras: &HashMap<i64, Extras>,
        base: &str,
    ) -> W3cAnnotationPage {
        W3cAnnotationPage {
            context: CONTEXT.into(),
            id: self.page_id(cursor, limit),
            kind: "AnnotationPage".into(),
            part_of: self.list.clone(),
            next: page
                .next_cursor
                .as_deref()
                .map(|c| self.page_id(Some(c), limit)),
            prev: None,
            start_index: None,
            items: items(&page.items, extras, base),
        }
    }
}

fn items(list: &[Annotation], extras: &HashMap<i64, Extras>, base: &str) -> Vec<W3cAnnotation> {
    list.iter()
        .map(|a| from_annotation(a, extras.get(&a.id), base))
        .collect()
}

/// What a W3C document sent in held beyond Gloss's own fields, kept as given and returned in
/// the annotation's W3C form: the text body's format, language and purpose, further bodies
/// (IRIs, more text), selectors beside the text selector, and further targets on the post.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Extras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bodies: Vec<W3cBody>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<W3cSelector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<W3cTarget>,
}

impl Extras {
    /// The stored form; `None` when there is nothing beyond Gloss's fields.
    pub fn to_stored(&self) -> Option<String> {
        let json = serde_json::to_string(self).ok()?;
        (json != "{}").then_some(json)
    }

    /// Reads the stored form (an unreadable one counts as none).
    pub fn from_stored(json: &str) -> Extras {
        serde_json::from_str(json).unwrap_or_default()
    }
}

/// A W3C annotation document sent to `POST /w3c/posts/{id}/annotations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"@context": "http://www.w3.org/ns/anno.jsonld", "type": "Annotation",
    "motivation": "commenting",
    "body": [{"type": "TextualBody", "value": "This commits to very little.", "format": "text/plain", "language": "en"},
             "https://example.org/analysis/7"],
    "target": {"source": "http://127.0.0.1:8080/api/v1/posts/145", "selector": [
        {"type": "TextQuoteSelector", "exact": "strengthen mutual support"},
        {"type": "FragmentSelector", "value": "par=3"}]}}))]
pub struct W3cAnnotationInput {
    /// `http://www.w3.org/ns/anno.jsonld`, alone or in a list.
    #[serde(rename = "@context", default)]
    pub context: Option<OneOrMany<String>>,
    /// `Annotation`, alone or in a list.
    #[serde(rename = "type", default)]
    pub kind: Option<OneOrMany<String>>,
    /// One of the thirteen W3C motivations (or a list of them; Gloss keeps the first).
    #[serde(default)]
    pub motivation: Option<OneOrMany<String>>,
    /// TextualBody objects (the first without `purpose: tagging` is the annotation's text, each
    /// `tagging` one a tag, any further one kept as given) and IRIs of body resources (kept).
    #[serde(default)]
    pub body: Option<OneOrMany<W3cBodyInput>>,
    /// A plain-text body (up to 10,000 characters); not together with `body`.
    #[serde(rename = "bodyValue", default)]
    #[schema(max_length = 10000)]
    pub body_value: Option<String>,
    /// Gloss's extension: `public` (default) or `private`.
    #[serde(default)]
    pub visibility: Option<super::model::Visibility>,
    /// The post, as its IRI or a SpecificResource with selectors; a list of them, all on this
    /// post: the first with a TextQuoteSelector or TextPositionSelector is the passage, the
    /// others are kept as given.
    pub target: OneOrMany<W3cTargetInput>,
}

/// A body sent in: an IRI, or a resource object.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum W3cBodyInput {
    /// The IRI of a body resource.
    Iri(String),
    /// A TextualBody or a described resource.
    Resource(W3cBody),
}

/// A target sent in: the post's IRI, or a SpecificResource on it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum W3cTargetInput {
    /// The post's IRI.
    Iri(String),
    /// The post and where in it.
    Resource(W3cTargetResource),
}

/// A SpecificResource on the post.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct W3cTargetResource {
    /// The post's IRI; when left out, the post in the request path.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub source: Option<String>,
    /// One selector or a list of alternatives.
    #[serde(default)]
    #[schema(value_type = Option<OneOrMany<W3cSelector>>)]
    pub selector: Option<OneOrMany<serde_json::Value>>,
}

const MAX_IRI: usize = 2000;
const MAX_EXTRAS: usize = 10;
/// The most a W3C document may keep beside Gloss's fields, in characters of JSON.
const MAX_KEPT: usize = 20_000;

fn is_iri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.chars().count() <= MAX_IRI
}

fn is_media_type(s: &str) -> bool {
    s.chars().count() <= 64
        && [
            "application/",
            "audio/",
            "example/",
            "image/",
            "multipart/",
            "text/",
            "video/",
        ]
        .iter()
        .any(|t| s.starts_with(t) && s.len() > t.len())
        && !s.chars().any(char::is_whitespace)
}

fn is_language_tag(s: &str) -> bool {
    s.len() <= 64
        && s.split('-').enumerate().all(|(i, part)| {
            (1..=8).contains(&part.len())
                && part.chars().all(|c| {
                    if i == 0 {
                        c.is_ascii_alphabetic()
                    } else {
                        c.is_ascii_alphanumeric()
                    }
                })
        })
}

/// Collects field errors while a W3C document is read.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// A W3C annotation document, read.
pub struct W3cCreate {
    /// As Gloss's own create request.
    pub request: CreateAnnotation,
    /// What it held beyond Gloss's fields.
    pub extras: Extras,
    /// Its target is the whole post (its IRI, no selector), not a passage.
    pub whole_post: bool,
    /// Where in the document Gloss's fields came from, for error messages.
    pub paths: FieldPaths,
}

/// The paths in a W3C document of what became Gloss's fields.
#[derive(Debug, Clone)]
pub struct FieldPaths {
    /// The text (`bodyValue`, or `body[1].value`).
    text: String,
    /// The TextQuoteSelector of the passage (`target.selector[0]`).
    quote: String,
    /// The TextPositionSelector of the passage.
    position: String,
}

impl FieldPaths {
    /// Says the fields of a 422 from Gloss's own checks as paths into the W3C document.
    pub fn rename(&self, e: ApiError) -> ApiError {
        e.renamed(|field: &str| -> String {
            match field.split_once('.') {
                _ if field == "body" => self.text.clone(),
                _ if field == "tags" => "body".into(),
                Some(("selector", part @ ("exact" | "prefix" | "suffix"))) => {
                    format!("{}.{part}", self.quote)
                }
                Some(("selector", part @ ("start" | "end"))) => {
                    format!("{}.{part}", self.position)
                }
                _ => field.to_string(),
            }
        })
    }
}

/// Reads a W3C annotation document as Gloss's own create request, and what it holds beyond
/// Gloss's fields.
pub fn to_create(input: W3cAnnotationInput, post_id: i64) -> Result<W3cCreate, ApiError> {
    let mut errors = Errors::default();
    let mut extras = Extras::default();
    if let Some(context) = input.context {
        let all = context.into_vec();
        if all.iter().any(|c| c.chars().count() > 200) {
            errors.add("@context", "each value must be at most 200 characters");
        } else if !all.iter().any(|c| c == CONTEXT) {
            errors.add("@context", format!("must be or include {CONTEXT}"));
        }
    }
    if let Some(kind) = input.kind {
        let all = kind.into_vec();
        if all.iter().any(|k| k.chars().count() > 200) {
            errors.add("type", "each value must be at most 200 characters");
        } else if !all.iter().any(|k| k == "Annotation") {
            errors.add("type", "must be or include Annotation");
        }
    }
    let mut motivation = Motivation::Highlighting;
    if let Some(m) = input.motivation {
        let all = m.into_vec();
        match all
            .iter()
            .map(|m| motivation_named(m))
            .collect::<Option<Vec<_>>>()
        {
            Some(known) if !known.is_empty() => motivation = known[0],
            Some(_) => errors.add("motivation", "must name at least one motivation"),
            None => errors.add(
                "motivation",
                "must be one of the thirteen W3C motivations (assessing, bookmarking, \
                 classifying, commenting, describing, editing, highlighting, identifying, \
                 linking, moderating, questioning, replying, tagging)",
            ),
        }
    }
    let mut text = None;
    let mut tags = Vec::new();
    let mut paths = FieldPaths {
        text: "body".into(),
        quote: "target.selector".into(),
        position: "target.selector".into(),
    };
    if input.body.is_some() && input.body_value.is_some() {
        errors.add("bodyValue", "must not be sent together with body");
    }
    if let Some(v) = input.body_value {
        // the model's bodyValue is plain text
        text = Some(v);
        extras.format = Some("text/plain".into());
        paths.text = "bodyValue".into();
    }
    for (field, body) in input.body.map(|b| b.named("body")).unwrap_or_default() {
        let body = match body {
            W3cBodyInput::Iri(iri) => W3cBody {
                id: Some(iri),
                kind: None,
                value: None,
                format: None,
                language: None,
                purpose: None,
            },
            W3cBodyInput::Resource(b) => b,
        };
        check_body(&mut errors, &field, &body);
        // `oa:commenting` is `commenting`: kept in the one spelling
        let mut body = body;
        body.purpose = body
            .purpose
            .map(|p| p.trim_start_matches("oa:").to_string());
        match (&body.value, body.purpose.as_deref()) {
            (Some(tag), Some("tagging")) => tags.push(tag.clone()),
            (Some(value), _) if text.is_none() => {
                text = Some(value.clone());
                paths.text = format!("{field}.value");
                extras.format = body.format;
                extras.language = body.language;
                extras.purpose = body.purpose;
            }
            (Some(_), _) | (None, _) if body.value.is_some() || body.id.is_some() => {
                extras.bodies.push(body)
            }
            // a TextualBody without its value is already named
            _ if body.kind.as_deref() == Some("TextualBody") => {}
            _ => errors.add(
                field,
                "needs a value (a TextualBody) or an id (the IRI of a body resource)",
            ),
        }
    }
    if extras.bodies.len() > MAX_EXTRAS {
        errors.add(
            "body",
            format!("at most {MAX_EXTRAS} bodies besides the text and tags"),
        );
    }
    let mut passage: Option<SelectorInput> = None;
    for (field, target) in input.target.named("target") {
        let (source, selectors) = match target {
            W3cTargetInput::Iri(iri) => (Some(iri), Vec::new()),
            W3cTargetInput::Resource(W3cTargetResource {
                source: None,
                selector: None,
            }) => {
                errors.add(
                    field,
                    "must be the post's IRI, or an object with its source and/or selectors",
                );
                continue;
            }
            W3cTargetInput::Resource(r) => (
                r.source,
                r.selector
                    .map(|s| s.named(&format!("{field}.selector")))
                    .unwrap_or_default(),
            ),
        };
        if let Some(source) = &source {
            if !names_post(source, post_id) {
                errors.add(
                    format!("{field}.source"),
                    format!("must be this post's IRI (ending in /posts/{post_id})"),
                );
                continue;
            }
        }
        let mut read = Vec::new();
        for (sfield, value) in selectors {
            match serde_json::from_value::<W3cSelector>(value) {
                Ok(s) if !check_selector(&mut errors, &sfield, &s) => {}
                Ok(s) => read.push((sfield, s)),
                Err(e) => errors.add(sfield, selector_message(&e.to_string())),
            }
        }
        if read.len() > MAX_EXTRAS {
            errors.add(
                format!("{field}.selector"),
                format!("at most {MAX_EXTRAS} selectors"),
            );
        }
        let has_text = read.iter().any(|(_, s)| {
            matches!(
                s,
                W3cSelector::TextQuoteSelector { .. } | W3cSelector::TextPositionSelector { .. }
            )
        });
        if passage.is_none() && has_text {
            let mut selector = SelectorInput::default();
            for (sfield, s) in read {
                match s {
                    W3cSelector::TextQuoteSelector {
                        exact,
                        prefix,
                        suffix,
                    } => {
                        selector.exact = Some(exact);
                        selector.prefix = prefix;
                        selector.suffix = suffix;
                        paths.quote = sfield;
                    }
                    W3cSelector::TextPositionSelector { start, end } => {
                        selector.start = Some(start);
                        selector.end = Some(end);
                        paths.position = sfield;
                    }
                    other => extras.selectors.push(other),
                }
            }
            passage = Some(selector);
        } else {
            extras.targets.push(W3cTarget {
                source: source.unwrap_or_else(|| format!("/api/v1/posts/{post_id}")),
                selector: (!read.is_empty()).then(|| read.into_iter().map(|(_, s)| s).collect()),
            });
        }
    }
    if extras.targets.len() > MAX_EXTRAS {
        errors.add(
            "target",
            format!("at most {MAX_EXTRAS} targets besides the passage"),
        );
    }
    if extras
        .to_stored()
        .is_some_and(|json| json.chars().count() > MAX_KEPT)
    {
        errors.add(
            "target",
            format!(
                "what is kept beside Gloss's fields (further bodies, selectors and targets) \
                 must take at most {MAX_KEPT} characters"
            ),
        );
    }
    // no passage: a target that is the post itself makes an annotation of the whole post
    let mut whole_post = false;
    if passage.is_none() {
        if let Some(i) = extras.targets.iter().position(|t| t.selector.is_none()) {
            extras.targets.remove(i);
            whole_post = true;
        } else if errors.0.is_empty() {
            errors.add(
                "target",
                "Gloss anchors a passage by a TextQuoteSelector or a TextPositionSelector \
                 (FragmentSelectors and RangeSelectors are kept beside one), or annotates the \
                 whole post when a target is the post's IRI",
            );
        }
    }
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0));
    }
    Ok(W3cCreate {
        request: CreateAnnotation {
            motivation,
            body: text,
            tags,
            visibility: input.visibility,
            selector: passage.unwrap_or_default(),
        },
        extras,
        whole_post,
        paths,
    })
}

fn motivation_named(name: &str) -> Option<Motivation> {
    let name = name.trim_start_matches("oa:");
    serde_json::from_value(serde_json::Value::String(name.into())).ok()
}

fn names_post(iri: &str, post_id: i64) -> bool {
    is_iri(iri)
        && iri
            .trim_end_matches('/')
            .ends_with(&format!("/posts/{post_id}"))
}

/// What to say about a selector that could not be read: serde's words when a field is wrong,
/// the supported types when the type is unknown.
fn selector_message(serde: &str) -> String {
    let serde = serde.split(" at line ").next().unwrap_or(serde);
    if serde.starts_with("unknown variant") || serde.starts_with("missing field `type`") {
        "Gloss reads TextQuoteSelector and TextPositionSelector, and keeps FragmentSelector and \
         RangeSelector beside one of them; other selector types are not supported"
            .into()
    } else if serde.starts_with("invalid type") || serde.contains("W3cSelector") {
        "must be a selector object with a type (TextQuoteSelector, TextPositionSelector, \
         FragmentSelector or RangeSelector)"
            .into()
    } else {
        serde.to_string()
    }
}

/// The documented limits of a selector (Gloss's own checks of the passage come later); false
/// when it breaks one.
fn check_selector(errors: &mut Errors, field: &str, s: &W3cSelector) -> bool {
    let before = errors.0.len();
    let mut max = |part: &str, value: &str, n: usize| {
        if value.chars().count() > n {
            errors.add(
                format!("{field}.{part}"),
                format!("must be at most {n} characters"),
            );
        }
    };
    match s {
        W3cSelector::TextQuoteSelector {
            exact,
            prefix,
            suffix,
        } => {
            max("exact", exact, 50_000);
            max("prefix", prefix.as_deref().unwrap_or(""), 1000);
            max("suffix", suffix.as_deref().unwrap_or(""), 1000);
        }
        W3cSelector::TextPositionSelector { start, end } => {
            if start > end {
                errors.add(format!("{field}.end"), "must not be before start");
            }
        }
        W3cSelector::FragmentSelector { value, conforms_to } => {
            max("value", value, MAX_IRI);
            if conforms_to.as_deref().is_some_and(|c| !is_iri(c)) {
                errors.add(
                    format!("{field}.conformsTo"),
                    format!("must be an absolute IRI of at most {MAX_IRI} characters"),
                );
            }
        }
        W3cSelector::RangeSelector {
            start_selector,
            end_selector,
        } => {
            for (part, end) in [
                ("startSelector", start_selector),
                ("endSelector", end_selector),
            ] {
                match end["type"].as_str() {
                    Some(t) if t.chars().count() <= 64 => {}
                    Some(_) => errors.add(
                        format!("{field}.{part}.type"),
                        "must be at most 64 characters",
                    ),
                    None => errors.add(
                        format!("{field}.{part}"),
                        "must be a selector object with a type",
                    ),
                }
            }
        }
    }
    errors.0.len() == before
}

fn check_body(errors: &mut Errors, field: &str, body: &W3cBody) {
    if body.kind.as_deref() == Some("TextualBody") && body.value.is_none() {
        errors.add(format!("{field}.value"), "a TextualBody needs a value");
    }
    if let Some(id) = &body.id {
        if !is_iri(id) {
            errors.add(
                format!("{field}.id"),
                format!("must be an absolute IRI of at most {MAX_IRI} characters"),
            );
        }
    }
    if let Some(kind) = &body.kind {
        if kind.chars().count() > 64 {
            errors.add(format!("{field}.type"), "must be at most 64 characters");
        }
    }
    if let Some(format) = &body.format {
        if !is_media_type(format) {
            errors.add(
                format!("{field}.format"),
                "must be a media type such as text/markdown or text/plain",
            );
        }
    }
    if let Some(language) = &body.language {
        if !is_language_tag(language) {
            errors.add(
                format!("{field}.language"),
                "must be a BCP 47 language tag such as en or zh-Hans",
            );
        }
    }
    if let Some(purpose) = &body.purpose {
        if motivation_named(purpose).is_none() {
            errors.add(
                format!("{field}.purpose"),
                "must be one of the thirteen W3C motivations",
            );
        }
    }
    if let Some(value) = &body.value {
        if value.chars().count() > 10_000 {
            errors.add(format!("{field}.value"), "must be at most 10000 characters");
        }
    }
}

/// The JSON-LD form of an annotation, with what its W3C document held beyond Gloss's fields.
/// `base` is the server's public URL.
pub fn from_annotation(a: &Annotation, extras: Option<&Extras>, base: &str) -> W3cAnnotation {
    let none = Extras::default();
    let extras = extras.unwrap_or(&none);
    let mut body = Vec::new();
    if let Some(text) = &a.body {
        body.push(W3cBody {
            id: None,
            kind: Some("TextualBody".into()),
            value: Some(text.clone()),
            format: Some(
                extras
                    .format
                    .clone()
                    .unwrap_or_else(|| "text/markdown".into()),
            ),
            language: extras.language.clone(),
            purpose: Some(
                extras
                    .purpose
                    .clone()
                    .unwrap_or_else(|| a.motivation.as_str().into()),
            ),
        });
    }
    for t in &a.tags {
        body.push(W3cBody {
            id: None,
            kind: Some("TextualBody".into()),
            value: Some(t.clone()),
            format: None,
            language: None,
            purpose: Some("tagging".into()),
        });
    }
    body.extend(extras.bodies.iter().cloned());
    let post_iri = format!("{base}/api/v1/posts/{}", a.post_id);
    let passage = match (&a.parent_id, &a.target) {
        (Some(parent), _) => W3cTarget {
            source: format!("{base}/api/v1/w3c/annotations/{parent}"),
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
            selectors.extend(extras.selectors.iter().cloned());
            W3cTarget {
                source: post_iri.clone(),
                selector: Some(selectors),
            }
        }
        (None, None) => W3cTarget {
            source: post_iri.clone(),
            selector: None,
        },
    };
    let target = if extras.targets.is_empty() {
        OneOrMany::One(passage)
    } else {
        let mut all = vec![passage];
        all.extend(extras.targets.iter().map(|t| W3cTarget {
            // a target sent without a source named the post in the path
            source: if t.source.starts_with("/api/v1/") {
                format!("{base}{}", t.source)
            } else {
                t.source.clone()
            },
            selector: t.selector.clone(),
        }));
        OneOrMany::Many(all)
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
