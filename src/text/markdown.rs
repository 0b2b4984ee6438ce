//! Markdown (CommonMark, plus ~~strikethrough~~) rendered two ways:
//!
//! - `html`: the rendered HTML, sanitized: no `<script>`, no event handlers, no `javascript:` or
//!   other unsafe URLs; every link gets `rel="nofollow ugc"`.
//! - `text`: the plain text a reader sees, which is what annotation offsets count in. It is defined
//!   here, once:
//!   - the text of every paragraph, heading, list item, quote, code block and table cell, in order;
//!   - a soft line break reads as one space, a hard line break as `\n`;
//!   - blocks are separated by one blank line (`\n\n`), list items by `\n`;
//!   - inline code keeps its text, an image reads as its alt text, a link as its text;
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

/// Renders Markdown to sanitized HTML and plain text.
pub fn render(markdown: &str) -> Rendered {
    Rendered {
        html: sanitize(&to_html(markdown)),
        text: plain_text(markdown),
    }
}

fn to_html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(markdown, options()));
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

fn plain_text(markdown: &str) -> String {
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
            Event::SoftBreak => push(&mut out, &mut pending, " "),
            Event::HardBreak => push(&mut out, &mut pending, "\n"),
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
    fn paragraphs_are_separated_by_a_blank_line_and_soft_breaks_read_as_spaces() {
        let r = render("First line\nsame paragraph.\n\nSecond *paragraph* with `code`.");
        assert_eq!(
            r.text,
            "First line same paragraph.\n\nSecond paragraph with code."
        );
    }

    #[test]
    fn lists_headings_quotes_and_code() {
        let r = render("# Title\n\n- one\n- two\n\n> quoted\n\n```\nlet x = 1;\n```\n\nend");
        assert_eq!(r.text, "Title\n\none\ntwo\n\nquoted\n\nlet x = 1;\n\nend");
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
    fn emoji_and_non_ascii_text_survive() {
        let r = render("[🇨🇳] China–Russia «strategic» 伙伴");
        assert_eq!(r.text, "[🇨🇳] China–Russia «strategic» 伙伴");
    }
}
