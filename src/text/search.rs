//! Search terms, the same on both databases: how a text is cut into the terms that are indexed,
//! and how what a member types into a search box becomes a query over those terms, written out
//! for SQLite's FTS5 or as a PostgreSQL tsquery. Neither database splits the text itself (FTS5's
//! unicode61 and PostgreSQL's `simple` keep a run of Chinese characters as one word), so both
//! index exactly these terms and find the same documents.

use unicode_segmentation::UnicodeSegmentation;

/// The most terms one query keeps; the rest of a very long query is not read.
pub const MAX_QUERY_TERMS: usize = 32;

/// The most terms of one text that are indexed (PostgreSQL keeps positions up to 16,383; a
/// post's Markdown is capped well below this many words).
pub const MAX_INDEX_TERMS: usize = 16_000;

/// A term of a text and where it stands in it (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Lower case.
    pub text: String,
    pub start: usize,
    pub end: usize,
    /// The last character of a CJK run of two or more, indexed alone so that a one-character
    /// query finds it; a query of several characters leaves it out (its pairs say it all).
    pub tail: bool,
}

/// Written without spaces between words: Han, Hiragana, Katakana, Hangul syllables.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'      // Hiragana, Katakana
        | '\u{3400}'..='\u{4dbf}'    // CJK Extension A
        | '\u{4e00}'..='\u{9fff}'    // CJK Unified Ideographs
        | '\u{ac00}'..='\u{d7af}'    // Hangul syllables
        | '\u{f900}'..='\u{faff}'    // CJK Compatibility Ideographs
        | '\u{20000}'..='\u{2ffff}') // CJK Extensions B and later
}

/// Punctuation that Unicode lets stand inside a word (`don't`, `3.14`, `snake_case`, `y.org`):
/// terms are cut there too, so that no database's own tokenizer cuts a term further (FTS5 splits
/// at ASCII punctuation, PostgreSQL's parser reads `y.org` as a host name and `3.14` as a number).
fn cuts_a_word(c: char) -> bool {
    !c.is_alphanumeric()
        && (c.is_ascii()
            || matches!(c,
                '\u{00b7}' | '\u{0387}' | '\u{037e}' | '\u{0589}' | '\u{05f4}' | '\u{060c}'
                | '\u{060d}' | '\u{066c}' | '\u{07f8}' | '\u{2018}'..='\u{2027}' | '\u{202f}'
                | '\u{203f}' | '\u{2040}' | '\u{2044}' | '\u{2054}' | '\u{fe10}'..='\u{fe6f}'
                | '\u{ff01}'..='\u{ff0f}' | '\u{ff1a}'..='\u{ff20}' | '\u{ff3b}'..='\u{ff40}'))
}

/// The terms of a text, in order: each word in lower case; a run of CJK characters as its
/// overlapping pairs and its last character alone (`我爱中国` gives `我爱 爱中 中国 国`), so a
/// word of two or more characters is found as the phrase of its pairs.
pub fn terms(text: &str) -> Vec<Term> {
    let mut out = Vec::new();
    let mut run: Vec<(usize, char)> = Vec::new();
    let flush = |run: &mut Vec<(usize, char)>, out: &mut Vec<Term>| {
        let tail = run.len() > 1;
        for (i, &(start, c)) in run.iter().enumerate() {
            let (text, end, tail) = match run.get(i + 1) {
                Some(&(next, d)) => (format!("{c}{d}"), next + d.len_utf8(), false),
                None => (c.to_string(), start + c.len_utf8(), tail),
            };
            out.push(Term {
                text,
                start,
                end,
                tail,
            });
        }
        run.clear();
    };
    for (start, word) in text.unicode_word_indices() {
        let mut chars = word.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if is_cjk(c) => {
                // a run goes on only through characters that touch
                if run.last().is_some_and(|&(s, d)| s + d.len_utf8() != start) {
                    flush(&mut run, &mut out);
                }
                run.push((start, c));
            }
            _ => {
                flush(&mut run, &mut out);
                let mut at = 0;
                for part in word.split(cuts_a_word) {
                    if !part.is_empty() {
                        out.push(Term {
                            text: part.to_lowercase(),
                            start: start + at,
                            end: start + at + part.len(),
                            tail: false,
                        });
                    }
                    at += part.len();
                    // the cutting character
                    at += word[at..].chars().next().map_or(0, char::len_utf8);
                }
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Terms that must follow each other; a single term is a phrase of one. A query of one CJK
/// character is a prefix (it is indexed only as the start of a pair, or alone at a run's end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    pub terms: Vec<String>,
    pub prefix: bool,
}

/// A search box's query: every group must match (a group matches when one of its phrases
/// does: `a OR b`), and no excluded phrase may.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub groups: Vec<Vec<Phrase>>,
    pub excluded: Vec<Phrase>,
}

/// The terms of a text as they are indexed: joined by spaces, at most [`MAX_INDEX_TERMS`].
pub fn index_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for t in terms(text).into_iter().take(MAX_INDEX_TERMS) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t.text);
    }
    out
}

fn phrase_of(text: &str) -> Option<Phrase> {
    let terms: Vec<String> = terms(text)
        .into_iter()
        .filter(|t| !t.tail)
        .map(|t| t.text)
        .collect();
    let prefix = terms.len() == 1 && terms[0].chars().count() == 1 && terms[0].chars().all(is_cjk);
    (!terms.is_empty()).then_some(Phrase { terms, prefix })
}

/// Reads what a member typed: words, `"exact phrases"`, `-excluded` words or phrases, and `OR`
/// between two of them. Nothing is passed through: every other character only separates words
/// (a quote left open is read as a separator), so there is no input it cannot read. A query
/// with nothing to find has no groups.
pub fn parse(input: &str) -> Query {
    // the pieces as typed: (excluded, text, quoted)
    let mut pieces: Vec<(bool, String, bool)> = Vec::new();
    let balanced = input.matches('"').count().is_multiple_of(2);
    let mut rest = input;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let (excluded, after) = match rest.strip_prefix('-') {
            Some(r) if r.starts_with(|c: char| !c.is_whitespace()) => (true, r),
            _ => (false, rest),
        };
        if balanced && after.starts_with('"') {
            let inner = &after[1..];
            let end = inner.find('"').unwrap_or(inner.len());
            pieces.push((excluded, inner[..end].to_string(), true));
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let end = after
                .find(|c: char| c.is_whitespace() || (balanced && c == '"'))
                .unwrap_or(after.len());
            let end = end.max(after.chars().next().map_or(0, char::len_utf8));
            pieces.push((excluded, after[..end].to_string(), false));
            rest = &after[end..];
        }
    }
    let mut query = Query::default();
    // `OR` joins the phrases on both sides of it, when both are ones to find
    let mut join_next = false;
    let mut last_found = false;
    let mut kept = 0;
    for (excluded, text, quoted) in pieces {
        if !quoted && !excluded && text == "OR" {
            join_next = last_found;
            continue;
        }
        // a word typed unquoted may hold several terms (`e-mail`, `中国人`): a phrase too
        let Some(phrase) = phrase_of(&text) else {
            continue;
        };
        kept += phrase.terms.len();
        if kept > MAX_QUERY_TERMS {
            break;
        }
        last_found = !excluded;
        if excluded {
            query.excluded.push(phrase);
        } else if join_next {
            if let Some(group) = query.groups.last_mut() {
                group.push(phrase);
            }
        } else {
            query.groups.push(vec![phrase]);
        }
        join_next = false;
    }
    query
}

/// How one database writes a query: its operators and how it writes a phrase.
struct Syntax {
    and: &'static str,
    or: &'static str,
    and_not: &'static str,
    phrase: fn(&Phrase) -> String,
}

/// FTS5: a phrase is one quoted string (`""` inside it), a prefix ends in `*`.
const FTS5: Syntax = Syntax {
    and: " AND ",
    or: " OR ",
    and_not: " NOT ",
    phrase: |p| {
        let quoted = p.terms.join(" ").replace('"', "\"\"");
        let star = if p.prefix { "*" } else { "" };
        format!("\"{quoted}\"{star}")
    },
};

/// tsquery: each term quoted (`''` and `\\` inside it), a phrase joined by `<->`, a prefix
/// ends in `:*`.
const TSQUERY: Syntax = Syntax {
    and: " & ",
    or: " | ",
    and_not: " & !",
    phrase: |p| {
        let parts: Vec<String> = p
            .terms
            .iter()
            .map(|t| format!("'{}'", t.replace('\\', "\\\\").replace('\'', "''")))
            .collect();
        let joined = parts.join(" <-> ");
        if p.prefix {
            format!("{joined}:*")
        } else if parts.len() > 1 {
            format!("({joined})")
        } else {
            joined
        }
    },
};

impl Query {
    /// The FTS5 MATCH expression (every term a quoted string, so no FTS5 syntax can come from the
    /// input); `None` when there is nothing to find.
    pub fn to_fts5(&self) -> Option<String> {
        self.write(&FTS5)
    }

    /// The PostgreSQL tsquery text, to be cast with `::tsquery` (every term quoted, so no
    /// operator can come from the input); `None` when there is nothing to find.
    pub fn to_tsquery(&self) -> Option<String> {
        self.write(&TSQUERY)
    }

    /// Where a text holds what this query looks for: the byte ranges of its terms that are a
    /// term of a phrase to find (or start with a one-character prefix), overlapping and touching
    /// ranges merged. Every such word is marked, wherever it stands.
    pub fn marks(&self, text: &str) -> Vec<(usize, usize)> {
        let phrases = || self.groups.iter().flatten();
        let exact: std::collections::HashSet<&str> = phrases()
            .filter(|p| !p.prefix)
            .flat_map(|p| p.terms.iter().map(String::as_str))
            .collect();
        let prefixes: Vec<&str> = phrases()
            .filter(|p| p.prefix)
            .flat_map(|p| p.terms.iter().map(String::as_str))
            .collect();
        let mut out: Vec<(usize, usize)> = Vec::new();
        for t in terms(text) {
            let hit =
                exact.contains(t.text.as_str()) || prefixes.iter().any(|p| t.text.starts_with(p));
            if !hit {
                continue;
            }
            match out.last_mut() {
                Some(last) if t.start <= last.1 => last.1 = last.1.max(t.end),
                _ => out.push((t.start, t.end)),
            }
        }
        out
    }

    fn write(&self, syntax: &Syntax) -> Option<String> {
        if self.groups.is_empty() {
            return None;
        }
        let any = |list: &[Phrase]| {
            let parts: Vec<String> = list.iter().map(syntax.phrase).collect();
            format!("({})", parts.join(syntax.or))
        };
        let mut out = self
            .groups
            .iter()
            .map(|g| any(g))
            .collect::<Vec<_>>()
            .join(syntax.and);
        if !self.excluded.is_empty() {
            out = format!("{out}{}{}", syntax.and_not, any(&self.excluded));
        }
        Some(out)
    }
}

/// The part of a text to show around its first mark: about `max_chars` characters, starting a
/// few words before the mark and cut at white space where there is some. Byte offsets.
pub fn snippet_window(text: &str, marks: &[(usize, usize)], max_chars: usize) -> (usize, usize) {
    let first = marks.first().map_or(0, |m| m.0);
    // start up to a third of the window before the mark, at the start of a word
    let before: Vec<(usize, char)> = text[..first]
        .char_indices()
        .rev()
        .take(max_chars / 3)
        .collect();
    let mut start = before.last().map_or(first, |&(i, _)| i);
    if start > 0 {
        // the white space farthest from the mark: as much context as the window holds
        if let Some(&(i, c)) = before.iter().rev().find(|&&(_, c)| c.is_whitespace()) {
            start = i + c.len_utf8();
        }
    }
    let mut end = text[start..]
        .char_indices()
        .nth(max_chars)
        .map_or(text.len(), |(i, _)| start + i);
    if end < text.len() {
        // cut at the last white space, unless that would leave little
        if let Some(ws) = text[start..end].rfind(char::is_whitespace) {
            if start + ws > first && ws > max_chars / 2 {
                end = start + ws;
            }
        }
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        terms(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn words_are_lower_case_and_cjk_runs_are_pairs() {
        assert_eq!(
            texts("The Fox, ЖУРНАЛ мир."),
            ["the", "fox", "журнал", "мир"]
        );
        // cut at the punctuation Unicode keeps inside words
        assert_eq!(
            texts("don't y.org 3.14 snake_case naïve"),
            ["don", "t", "y", "org", "3", "14", "snake", "case", "naïve"]
        );
        assert_eq!(
            texts("我爱中国人民。"),
            ["我爱", "爱中", "中国", "国人", "人民", "民"]
        );
        // a run ends where other text starts
        assert_eq!(
            texts("中国 and 俄罗斯"),
            ["中国", "国", "and", "俄罗", "罗斯", "斯"]
        );
        // offsets name the original text
        let t = terms("[🇨🇳] 中国");
        assert_eq!(&"[🇨🇳] 中国"[t[0].start..t[0].end], "中国");
    }

    #[test]
    fn a_query_reads_words_phrases_exclusions_and_or() {
        let q = parse(r#"fox "lazy dog" -cat OR bird -"red hen""#);
        assert_eq!(
            q.to_fts5().unwrap(),
            r#"("fox") AND ("lazy dog") AND ("bird") NOT ("cat" OR "red hen")"#
        );
        let q = parse("fox OR bird cat");
        assert_eq!(q.to_fts5().unwrap(), r#"("fox" OR "bird") AND ("cat")"#);
        assert_eq!(q.to_tsquery().unwrap(), "('fox' | 'bird') & ('cat')");
        // a Chinese word is the phrase of its pairs; one character is a prefix
        let q = parse("中国人");
        assert_eq!(q.to_fts5().unwrap(), r#"("中国 国人")"#);
        assert_eq!(q.to_tsquery().unwrap(), "(('中国' <-> '国人'))");
        // which is how the text holds it: the pairs stand next to each other
        let indexed = index_text("我爱中国人民。");
        assert!(indexed.contains("中国 国人"), "{indexed}");
        assert_eq!(parse("中").to_fts5().unwrap(), r#"("中"*)"#);
        assert_eq!(parse("中").to_tsquery().unwrap(), "('中':*)");
    }

    #[test]
    fn marks_cover_every_word_searched_for() {
        let text = "Le Fox 🦊 jumps; the fox sleeps in 中国人民.";
        let q = parse("fox 中国 -jumps");
        let marked: Vec<&str> = q.marks(text).iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(marked, ["Fox", "fox", "中国"]);
        // a one-character query marks the pairs it starts
        let marked: Vec<&str> = parse("人")
            .marks(text)
            .iter()
            .map(|&(s, e)| &text[s..e])
            .collect();
        assert_eq!(marked, ["人民"]);
    }

    #[test]
    fn a_snippet_starts_a_few_words_before_the_first_mark() {
        let text = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
        let marks = parse("needle").marks(&text);
        let (s, e) = snippet_window(&text, &marks, 60);
        let snippet = &text[s..e];
        assert!(snippet.starts_with("hay "), "{snippet:?}");
        assert!(snippet.contains("needle"), "{snippet:?}");
        assert!(snippet.chars().count() <= 60, "{snippet:?}");
        assert!(snippet.ends_with("straw"), "{snippet:?}");
        // a short text is shown whole
        assert_eq!(
            snippet_window("a needle", &parse("needle").marks("a needle"), 60),
            (0, 8)
        );
    }

    #[test]
    fn no_input_reaches_the_database_as_syntax() {
        for input in [
            r#"fox" OR "#,
            "NEAR(a b) AND c* ^d {e} : f",
            "' OR 1=1 --",
            r"\' & ! | <-> :*",
            "-",
            "OR OR",
            "\"",
            "---x",
        ] {
            let q = parse(input);
            if let Some(m) = q.to_fts5() {
                // every term is inside a quoted string: outside them only our own operators
                let outside: String = m.split('"').step_by(2).collect();
                let words: Vec<&str> = outside
                    .split(|c: char| "() *".contains(c))
                    .filter(|w| !w.is_empty())
                    .collect();
                assert!(
                    words.iter().all(|w| ["AND", "OR", "NOT"].contains(w)),
                    "{input:?} gave {m}"
                );
            }
            if let Some(t) = q.to_tsquery() {
                let outside: String = t.split('\'').step_by(2).collect();
                assert!(
                    outside.chars().all(|c| " ()&|!<->:*".contains(c)),
                    "{input:?} gave {t}"
                );
            }
        }
        // nothing to find
        assert_eq!(parse("  -x OR ").to_fts5(), None);
        assert_eq!(parse("").to_tsquery(), None);
        // a huge query keeps its first terms
        let long = "word ".repeat(2000);
        assert_eq!(parse(&long).groups.len(), MAX_QUERY_TERMS);
    }
}
