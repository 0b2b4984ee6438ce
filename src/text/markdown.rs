//! Markdown (CommonMark, plus ~~strikethrough~~) rendered two ways:
//!
//! - `html`: the rendered HTML, sanitized: no `<script>`, no event handlers, no `javascript:` or
//!   other unsafe URLs; every link gets `rel="nofollow ugc"`.
//! - `text`: the plain text a reader sees, which is what annotation offsets count in. It is defined
//!   here, once:
//!   - the text of every paragraph, heading, list item, quote, code block and table cell, in order;
//!   - every line break reads as `\n`: a single newline in the source is a line break, as on
//!     Discourse and XenForo (a news article pasted into a post keeps its lines);
//!   - blocks are separated by one blank line (`\n\n`), list items by `\n`;
//!   - inline code keeps its text, an image reads as its alt text (an attachment's caption), a
//!     link as its text;
//!   - raw HTML in the source is not text a reader sees and is left out;
//!   - no leading or trailing white space.

use pulldown_cmark::{html, Event, Options, Parser, Tag, TagEnd};

/// A post body rendered for readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Sanitized HTML.
    pub html: String,
    /// The plain text a reader sees.
    pub text: String,
}

fn options() -> Options {
    Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES
}

/// The deepest nesting of lists and block quotes a post may have. Parsers and sanitizers do work
/// that grows with the square of the depth (a 50 KB post of `1. ` repeated took seconds): deeper
/// structure is refused, not rendered.
pub const MAX_NESTING: usize = 8;

/// The most raw HTML tags a post may hold (they are sanitized one by one, and deep nesting of them
/// is slow to sanitize). Markdown needs none.
pub const MAX_HTML_TAGS: usize = 500;

/// Checks, in one linear pass and without parsing, that Markdown stays within the limits that keep
/// its rendering linear in its size; the error says which limit it passed, for a 422.
pub fn check_structure(markdown: &str) -> Result<(), String> {
    for line in markdown.lines() {
        if container_depth(line) > MAX_NESTING {
            return Err(format!(
                "nests lists or quotes more than {MAX_NESTING} levels deep"
            ));
        }
    }
    let bytes = markdown.as_bytes();
    let tags = bytes
        .windows(2)
        .filter(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/'))
        .count();
    if tags > MAX_HTML_TAGS {
        return Err(format!("has more than {MAX_HTML_TAGS} HTML tags"));
    }
    Ok(())
}

/// How many list-item and block-quote markers open one line (`> - 1. text` is 3): the nesting a
/// single line can create.
fn container_depth(line: &str) -> usize {
    let b = line.as_bytes();
    let (mut i, mut depth) = (0, 0);
    loop {
        let mut spaces = 0;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') && spaces < 4 {
            i += 1;
            spaces += 1;
        }
        if i >= b.len() {
            return depth;
        }
        let marker_end = match b[i] {
            b'>' => Some(i + 1),
            b'-' | b'*' | b'+' if b.get(i + 1).is_none_or(|c| *c == b' ' || *c == b'\t') => {
                Some(i + 1)
            }
            b'0'..=b'9' => {
                let mut j = i;
                while j < b.len() && j - i < 9 && b[j].is_ascii_digit() {
                    j += 1;
                }
                match b.get(j) {
                    Some(b'.' | b')') if b.get(j + 1).is_none_or(|c| *c == b' ' || *c == b'\t') => {
                        Some(j + 1)
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        match marker_end {
            Some(end) => {
                depth += 1;
                i = end;
            }
            None => return depth,
        }
    }
}

/// Renders Markdown to sanitized HTML and plain text.
pub fn render(markdown: &str) -> Rendered {
    Rendered {
        html: sanitize(&to_html(markdown)),
        text: plain_text(markdown),
    }
}

/// The scheme by which a post's Markdown shows an uploaded image: `![caption](attachment:12)`.
pub const ATTACHMENT_SCHEME: &str = "attachment:";

/// The most attachments one post may show.
pub const MAX_ATTACHMENTS: usize = 50;

/// An image a post shows from its attachments, with its caption (the image's alt text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    pub id: i64,
    pub caption: String,
}

/// The id in an `attachment:ID` image address.
fn attachment_id(dest: &str) -> Option<i64> {
    let id = dest.strip_prefix(ATTACHMENT_SCHEME)?;
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok().filter(|id| *id > 0)
}

/// Where the display size of an attachment is served (a path on this server).
pub fn attachment_url(id: i64) -> String {
    format!("/api/v1/attachments/{id}/display")
}

/// The attachments some Markdown shows, in order, each once (its first caption).
pub fn attachment_refs(markdown: &str) -> Vec<AttachmentRef> {
    if !markdown.contains(ATTACHMENT_SCHEME) {
        return Vec::new();
    }
    let mut refs: Vec<AttachmentRef> = Vec::new();
    // images nest (an image in another's alt text): every open one, innermost last
    let mut open: Vec<Option<(i64, String)>> = Vec::new();
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Image { dest_url, .. }) => {
                open.push(attachment_id(&dest_url).map(|id| (id, String::new())));
            }
            Event::Text(t) | Event::Code(t) => {
                for (_, caption) in open.iter_mut().flatten() {
                    caption.push_str(&t);
                }
            }
            Event::End(TagEnd::Image) => {
                if let Some(Some((id, caption))) = open.pop() {
                    if !refs.iter().any(|r| r.id == id) {
                        refs.push(AttachmentRef { id, caption });
                    }
                }
            }
            _ => {}
        }
    }
    refs
}

fn to_html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    // a single newline is a line break (`<br />`), not a space; an attachment's address becomes
    // the URL of its display size
    let events = Parser::new_ext(markdown, options()).map(|e| match e {
        Event::SoftBreak => Event::HardBreak,
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = match attachment_id(&dest_url) {
                Some(attachment) => attachment_url(attachment).into(),
                None => dest_url,
            };
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        e => e,
    });
    html::push_html(&mut out, events);
    out
}

/// Sanitizes rendered HTML; also used for HTML the server composes (e.g. quote blocks).
pub fn sanitize(html: &str) -> String {
    ammonia::Builder::default()
        .link_rel(Some("nofollow ugc"))
        .add_tag_attributes("blockquote", ["data-post-id", "data-username"])
        .add_allowed_classes("blockquote", ["gloss-citation"])
        .add_allowed_classes("p", ["gloss-citation-source"])
        .clean(html)
        .to_string()
}

/// The plain text a reader sees of some Markdown (what `body_text` holds).
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    // Block boundaries are recorded as pending and written only before the next text, so that
    // nested blocks do not stack blank lines and nothing trails at the end.
    let mut pending: Option<&str> = None;
    let push = |out: &mut String, pending: &mut Option<&str>, s: &str| {
        if let Some(sep) = pending.take() {
            // white space that ends a block (a code block's last newline) is not seen
            while out.ends_with(['\n', '\t', ' ']) {
                out.pop();
            }
            if !out.is_empty() {
                out.push_str(sep);
            }
        }
        out.push_str(s);
    };
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => push(&mut out, &mut pending, &t),
            Event::SoftBreak | Event::HardBreak => push(&mut out, &mut pending, "\n"),
            Event::Start(Tag::Item)
            | Event::End(TagEnd::Item)
            | Event::End(TagEnd::TableRow)
            | Event::End(TagEnd::TableHead) => pending = pending.or(Some("\n")),
            Event::End(TagEnd::TableCell) => push(&mut out, &mut pending, "\t"),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::BlockQuote(_)
                | TagEnd::CodeBlock
                | TagEnd::List(_)
                | TagEnd::Table,
            )
            | Event::Rule => pending = Some("\n\n"),
            Event::Start(
                Tag::Paragraph
                | Tag::Heading { .. }
                | Tag::BlockQuote(_)
                | Tag::CodeBlock(_)
                | Tag::List(_)
                | Tag::Table(_),
            ) if !out.is_empty() => pending = Some("\n\n"),
            _ => {}
        }
    }
    // Code blocks end with a newline and table rows with a tab: not text a reader sees.
    let lines: Vec<&str> = out
        .split('\n')
        .map(|l| l.trim_end_matches(['\t', ' ']))
        .collect();
    lines.join("\n").trim().to_string()
}

/// Escapes text for inclusion in HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_are_separated_by_a_blank_line_and_a_single_newline_is_a_line_break() {
        let r = render("First line\nsame paragraph.\n\nSecond *paragraph* with `code`.");
        assert_eq!(
            r.text,
            "First line\nsame paragraph.\n\nSecond paragraph with code."
        );
        assert_eq!(
            r.html,
            "<p>First line<br>\nsame paragraph.</p>\n<p>Second <em>paragraph</em> with <code>code</code>.</p>\n"
        );
    }

    #[test]
    fn a_pasted_news_article_keeps_its_lines() {
        let r = render(
            "AFP Beijing\nPublished: 15 Jul 2025, 13:36\n\nChinese President Xi Jinping said.",
        );
        assert_eq!(
            r.text,
            "AFP Beijing\nPublished: 15 Jul 2025, 13:36\n\nChinese President Xi Jinping said."
        );
        assert!(
            r.html.starts_with("<p>AFP Beijing<br>\nPublished:"),
            "{}",
            r.html
        );
        // a hard break (two trailing spaces) reads the same, without the spaces
        assert_eq!(render("one  \ntwo").text, "one\ntwo");
    }

    #[test]
    fn lists_headings_quotes_and_code() {
        let r = render("# Title\n\n- one\n- two\n\n> quoted\n\n```\nlet x = 1;\n```\n\nend");
        assert_eq!(r.text, "Title\n\none\ntwo\n\nquoted\n\nlet x = 1;\n\nend");
    }

    #[test]
    fn attachments_are_shown_from_their_url_and_read_as_their_caption() {
        let md = "Look:\n\n![The **harbour** at dawn](attachment:12) and ![](attachment:7 \"t\")\n\n![again](attachment:12) ![x](attachment:abc) ![y](https://e.org/a.png)";
        let r = render(md);
        assert!(
            r.html.contains("src=\"/api/v1/attachments/12/display\""),
            "{}",
            r.html
        );
        assert!(
            r.html.contains("src=\"/api/v1/attachments/7/display\""),
            "{}",
            r.html
        );
        assert!(!r.html.contains("attachment:"), "{}", r.html);
        assert_eq!(r.text, "Look:\n\nThe harbour at dawn and\n\nagain x y");
        assert_eq!(
            attachment_refs(md),
            vec![
                AttachmentRef {
                    id: 12,
                    caption: "The harbour at dawn".into()
                },
                AttachmentRef {
                    id: 7,
                    caption: String::new()
                },
            ]
        );
        assert!(attachment_refs("no images here").is_empty());
        // an image inside another's alt text is found too, whichever is the attachment
        let nested = attachment_refs(
            "![![x](https://e.org/a.png)](attachment:9) ![![y](attachment:4)](https://e.org/b.png)",
        );
        let ids: Vec<i64> = nested.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![9, 4]);
    }

    #[test]
    fn links_and_images_read_as_their_text() {
        let r = render("See [the report](https://example.org) and ![a map](m.png).");
        assert_eq!(r.text, "See the report and a map.");
        assert!(r.html.contains(r#"rel="nofollow ugc""#), "{}", r.html);
    }

    #[test]
    fn unsafe_html_is_removed() {
        let r = render("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) <a href=\"javascript:alert(2)\" onclick=\"evil()\">y</a>");
        assert!(!r.html.contains("<script"), "{}", r.html);
        assert!(!r.html.contains("onerror"), "{}", r.html);
        assert!(!r.html.contains("onclick"), "{}", r.html);
        assert!(!r.html.contains("javascript:"), "{}", r.html);
        assert!(!r.text.contains("alert(1)</script>"));
    }

    #[test]
    fn pathological_markdown_is_refused_or_rendered() {
        for (name, body, accepted) in super::super::markdown_shapes::pathological_shapes() {
            assert_eq!(check_structure(&body).is_ok(), accepted, "{name}");
            if accepted {
                render(&body);
            }
        }
    }

    #[test]
    fn ordinary_nesting_is_accepted() {
        assert!(
            check_structure("- a\n  - b\n    - c\n\n> > quoted twice\n\n1. one\n2. two").is_ok()
        );
        assert_eq!(container_depth("> - 1. text"), 3);
        assert_eq!(container_depth("-1 is a number"), 0);
        assert_eq!(container_depth("2025. A year"), 1);
        assert!(check_structure(&"<b>x</b> ".repeat(250)).is_ok());
    }

    #[test]
    fn emoji_and_non_ascii_text_survive() {
        let r = render("[🇨🇳] China–Russia «strategic» 伙伴");
        assert_eq!(r.text, "[🇨🇳] China–Russia «strategic» 伙伴");
    }
}
