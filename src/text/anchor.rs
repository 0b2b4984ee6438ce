//! Text anchors for annotations on post bodies (W3C Web Annotation model).
//!
//! An annotation points at a passage of a post's `body_text` with two W3C
//! selectors at once: a [`TextQuote`] (`TextQuoteSelector`: the passage plus
//! some context on either side) and a [`TextPosition`]
//! (`TextPositionSelector`: start/end offsets). Offsets are always **Unicode
//! code points** (`char`s), never bytes; [`utf16_offset`] converts them for
//! clients that index strings in UTF-16 (JavaScript, Swift, Kotlin).
//!
//! Two operations:
//!
//! * [`resolve`] validates what a client sent when creating an annotation and
//!   completes it into a full [`Selector`] (context recomputed from the text).
//! * [`reanchor_all`] / [`reanchor`] carry selectors over an edit of the post.
//!   Each selector ends up [`AnchorState::Anchored`] (passage untouched and not
//!   shifted), [`AnchorState::Moved`] (found again, possibly slightly edited),
//!   or [`AnchorState::Orphaned`] (no trustworthy new place).
//!
//! Re-anchoring, per selector (the diff is computed once per edit):
//!
//! 1. **Diff.** The old → new difference: common prefix/suffix trimming, then
//!    a Myers diff over word tokens (bounded: a total rewrite gives up instead
//!    of going quadratic), refined to characters inside small changed
//!    regions. The passage's first and last characters are mapped through it.
//! 2. **Anchored / Moved by the diff.** If both survived and the mapped range
//!    holds exactly the quote, it is accepted when the stored context is
//!    still there verbatim, or the quote is unique in the new text and not
//!    tiny, or the context still matches well and no other occurrence of the
//!    quote matches comparably well. Same offsets → `Anchored` (confidence
//!    1.0), otherwise `Moved`. Text inserted before a passage can leave an
//!    identical string at the old offsets ("foo … foo"); only the diff tells
//!    whether the passage itself stayed, so offsets alone never decide.
//! 3. **Search.** Otherwise the new text is searched for the quote: exact
//!    occurrences plus approximate ones within 25 % edit distance
//!    (bit-parallel Myers/Hyyrö matching, `O(n·⌈m/64⌉)`). Candidates that
//!    cannot be the passage are dropped: one that breaks the word boundaries
//!    the passage had ("of" inside "often"), or that the diff identifies as
//!    surviving old text from elsewhere (when one of two equal sentences is
//!    deleted, the survivor is the other one). The rest are scored by how
//!    many characters of quote + prefix + suffix line up with the new text
//!    (context similarity by edit distance, counted only above what unrelated
//!    text scores by chance), plus a little for closeness to where the diff
//!    expects the passage.
//! 4. **Decision.** The best candidate is accepted (`Moved`, confidence from
//!    its score) only if it carries enough evidence, an edited quote is still
//!    recognisable by its context, and it clearly beats every candidate that
//!    does not overlap it (the weaker its own context, the larger the lead it
//!    needs). Otherwise the selector is `Orphaned`: a wrong placement is worse
//!    than an orphan, so a repeated phrase without distinguishing context is
//!    never guessed.
//!
//! All offsets into texts are code points; nothing here panics on any input.

use std::collections::HashMap;
use std::fmt;

/// Number of code points of context kept on each side of a passage
/// ([`TextQuote::prefix`] / [`TextQuote::suffix`]).
pub const CONTEXT_CHARS: usize = 32;

// ---------------------------------------------------------------------------
// Tuning constants
// ---------------------------------------------------------------------------

/// Maximum edit distance of an approximate match, relative to the quote length.
const MAX_ERROR_RATE: f64 = 0.25;
/// Evidence (in "characters that line up") a searched candidate needs, capped
/// at 80 % of what the selector could possibly provide (short posts).
const MIN_EVIDENCE: f64 = 20.0;
/// Minimum evidence lead of the best candidate over any other candidate that
/// does not overlap it (absolute part; see [`Scorer::margin`]).
const MIN_MARGIN: f64 = 8.0;
/// Context similarity that unrelated text reaches by chance (anchored edit
/// distance of two unrelated 32-char snippets is about half their length).
/// Only similarity above this counts as evidence.
const CONTEXT_BASELINE: f64 = 0.5;
/// Weight (in characters of evidence) of being at the expected position.
/// Deliberately smaller than [`MIN_MARGIN`]: position alone never decides.
const POSITION_WEIGHT: f64 = 2.0;
/// A passage mapped by the diff onto an identical, unique string is accepted
/// without further context when it is at least this long.
const MIN_UNIQUE_QUOTE: usize = 8;
/// Quotes longer than this are not searched approximately (cost grows with
/// quote length); they can still be found exactly or through the diff.
const MAX_APPROX_QUOTE: usize = 2048;
/// Maximum number of exact occurrences considered per selector.
const MAX_EXACT_CANDIDATES: usize = 20_000;
/// Maximum number of approximate match ends considered per selector.
const MAX_APPROX_CANDIDATES: usize = 256;
/// Maximum number of equally good end positions taken from one valley of the
/// approximate-match score curve.
const MAX_TIES: usize = 8;
/// Maximum edit distance (in tokens) of the token-level diff.
const MAX_TOKEN_EDITS: usize = 1024;
/// Changed regions up to this many chars (old + new) are refined char by char.
const REFINE_MAX: usize = 1024;
/// Overall work budget of one diff (inner-loop steps).
const DIFF_BUDGET: usize = 30_000_000;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// A W3C `TextQuoteSelector`: the passage plus context on either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuote {
    /// The annotated passage, verbatim.
    pub exact: String,
    /// Up to [`CONTEXT_CHARS`] code points immediately before the passage.
    pub prefix: String,
    /// Up to [`CONTEXT_CHARS`] code points immediately after the passage.
    pub suffix: String,
}

impl TextQuote {
    /// A quote with the given passage and no context.
    pub fn new(exact: impl Into<String>) -> Self {
        TextQuote {
            exact: exact.into(),
            prefix: String::new(),
            suffix: String::new(),
        }
    }
}

/// A W3C `TextPositionSelector`, in Unicode code points; `end` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextPosition {
    /// Offset of the first code point of the passage.
    pub start: usize,
    /// Offset one past the last code point of the passage.
    pub end: usize,
}

/// Both selectors of an annotation target, always consistent with each other
/// for the text they were computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The passage and its context.
    pub quote: TextQuote,
    /// Where the passage is.
    pub position: TextPosition,
}

/// Why [`resolve`] rejected a client's selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorError {
    /// Neither a quote nor a position was given, or the quote's `exact` is empty.
    EmptyQuote,
    /// `start == end`: the position selects nothing.
    EmptyRange,
    /// `start > end`.
    Reversed,
    /// `end` lies beyond the end of the text.
    OutOfRange,
    /// The text at the given position is not the given `exact`.
    Mismatch,
    /// The quote does not occur in the text.
    NotFound,
    /// The quote occurs several times and its prefix/suffix do not single out one.
    Ambiguous,
}

impl AnchorError {
    /// The request field at fault (`"exact"`, `"start"`, `"end"` or `"prefix"`).
    pub fn field(&self) -> &'static str {
        match self {
            AnchorError::EmptyQuote | AnchorError::Mismatch | AnchorError::NotFound => "exact",
            AnchorError::Reversed => "start",
            AnchorError::EmptyRange | AnchorError::OutOfRange => "end",
            AnchorError::Ambiguous => "prefix",
        }
    }

    /// A human-readable explanation.
    pub fn message(&self) -> String {
        match self {
            AnchorError::EmptyQuote => {
                "a non-empty quote (exact) or a position (start/end) is required".to_string()
            }
            AnchorError::EmptyRange => "the position selects no text (start == end)".to_string(),
            AnchorError::Reversed => "start must not be greater than end".to_string(),
            AnchorError::OutOfRange => "end lies beyond the end of the post".to_string(),
            AnchorError::Mismatch => {
                "the text at start..end does not match the quoted text (exact)".to_string()
            }
            AnchorError::NotFound => {
                "the quoted text (exact) does not occur in the post".to_string()
            }
            AnchorError::Ambiguous => {
                "the quoted text occurs several times; give more prefix/suffix or a position"
                    .to_string()
            }
        }
    }
}

impl fmt::Display for AnchorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field(), self.message())
    }
}

impl std::error::Error for AnchorError {}

/// Outcome of re-anchoring one selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorState {
    /// The passage was not touched and did not shift.
    Anchored,
    /// The passage was found at a new position, possibly slightly edited.
    Moved,
    /// No trustworthy new position exists.
    Orphaned,
}

impl AnchorState {
    /// `"anchored"`, `"moved"` or `"orphaned"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AnchorState::Anchored => "anchored",
            AnchorState::Moved => "moved",
            AnchorState::Orphaned => "orphaned",
        }
    }
}

/// Result of re-anchoring one selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Reanchored {
    /// What happened to the passage.
    pub state: AnchorState,
    /// The selector against the new text (prefix/suffix recomputed);
    /// `None` iff the state is [`AnchorState::Orphaned`].
    pub selector: Option<Selector>,
    /// Confidence in `[0, 1]`: 1.0 for an unchanged passage, 0.0 for orphans.
    pub confidence: f64,
}

impl Reanchored {
    fn orphaned() -> Self {
        Reanchored {
            state: AnchorState::Orphaned,
            selector: None,
            confidence: 0.0,
        }
    }
}

// ---------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------

/// Validates and completes the selector a client sent when creating an
/// annotation on `text`.
///
/// - quote and position: `text[start..end]` (code points) must equal
///   `quote.exact`, else [`AnchorError::Mismatch`].
/// - position only: `exact` is taken from the text.
/// - quote only: `exact` must occur in the text ([`AnchorError::NotFound`]);
///   if it occurs several times, the occurrence whose surroundings match most
///   of the given prefix (right before it) plus suffix (right after it) wins;
///   a tie is [`AnchorError::Ambiguous`].
/// - nothing, or an empty `exact`: [`AnchorError::EmptyQuote`];
///   `start == end`: [`AnchorError::EmptyRange`]; `start > end`:
///   [`AnchorError::Reversed`]; `end` beyond the text: [`AnchorError::OutOfRange`].
///
/// The returned selector has prefix/suffix recomputed from the text (up to
/// [`CONTEXT_CHARS`] code points each); the client's prefix/suffix are only
/// used to pick among repeated quotes.
pub fn resolve(
    text: &str,
    quote: Option<&TextQuote>,
    position: Option<TextPosition>,
) -> Result<Selector, AnchorError> {
    let doc = Text::new(text);
    if let Some(p) = position {
        if p.start > p.end {
            return Err(AnchorError::Reversed);
        }
        if p.start == p.end {
            return Err(AnchorError::EmptyRange);
        }
        if p.end > doc.len() {
            return Err(AnchorError::OutOfRange);
        }
    }
    if quote.is_some_and(|q| q.exact.is_empty()) {
        return Err(AnchorError::EmptyQuote);
    }
    let (start, end) = match (quote, position) {
        (None, None) => return Err(AnchorError::EmptyQuote),
        (q, Some(p)) => {
            if q.is_some_and(|q| doc.slice(p.start, p.end) != q.exact) {
                return Err(AnchorError::Mismatch);
            }
            (p.start, p.end)
        }
        (Some(q), None) => locate_quote(&doc, q)?,
    };
    Ok(doc.selector(start, end))
}

/// Re-anchors every selector of a post whose text changed from `old` to `new`.
///
/// The old → new difference is computed once and shared by all selectors.
/// Returns one [`Reanchored`] per selector, in order. An unchanged text with a
/// correct selector yields [`AnchorState::Anchored`] with confidence 1.0; a
/// stale selector (one that does not match `old`) is treated like any edit,
/// except that its position is then only a hint. Selectors are expected to
/// come from [`resolve`] or from an earlier re-anchoring (their prefix and
/// suffix are the passage's real surroundings); store the returned selectors,
/// which carry context recomputed from `new`.
pub fn reanchor_all(old: &str, new: &str, selectors: &[Selector]) -> Vec<Reanchored> {
    let engine = Reanchorer::new(old, new);
    selectors.iter().map(|s| engine.reanchor(s)).collect()
}

/// Re-anchors a single selector; see [`reanchor_all`] (prefer it for several
/// selectors of the same post, it diffs the texts only once).
pub fn reanchor(old: &str, new: &str, selector: &Selector) -> Reanchored {
    Reanchorer::new(old, new).reanchor(selector)
}

/// Converts a code-point offset into `text` to a UTF-16 code-unit offset
/// (what JavaScript, Swift and Kotlin strings index with). Offsets past the
/// end are clamped to the end of the text.
pub fn utf16_offset(text: &str, cp_offset: usize) -> usize {
    text.chars().take(cp_offset).map(char::len_utf16).sum()
}

/// Converts a UTF-16 code-unit offset into `text` back to a code-point offset.
/// Returns `None` if the offset lies past the end of the text or in the middle
/// of a surrogate pair.
pub fn cp_offset_from_utf16(text: &str, utf16: usize) -> Option<usize> {
    let mut units = 0;
    for (i, c) in text.chars().enumerate() {
        if units == utf16 {
            return Some(i);
        }
        units += c.len_utf16();
        if units > utf16 {
            return None;
        }
    }
    (units == utf16).then(|| text.chars().count())
}

// ---------------------------------------------------------------------------
// Text helper: a string with code-point indexing
// ---------------------------------------------------------------------------

/// A string together with its code points and their byte offsets, so that
/// code-point ranges can be compared as `char` slices and sliced as `&str`.
struct Text<'a> {
    src: &'a str,
    chars: Vec<char>,
    /// `bytes[i]` is the byte offset of `chars[i]`; `bytes[len]` is `src.len()`.
    bytes: Vec<usize>,
}

impl<'a> Text<'a> {
    fn new(src: &'a str) -> Self {
        let mut chars = Vec::with_capacity(src.len());
        let mut bytes = Vec::with_capacity(src.len() + 1);
        for (b, c) in src.char_indices() {
            chars.push(c);
            bytes.push(b);
        }
        bytes.push(src.len());
        Text { src, chars, bytes }
    }

    fn len(&self) -> usize {
        self.chars.len()
    }

    /// The code-point range `start..end` (clamped to the text) as a `&str`.
    fn slice(&self, start: usize, end: usize) -> &'a str {
        let end = end.min(self.len());
        let start = start.min(end);
        &self.src[self.bytes[start]..self.bytes[end]]
    }

    /// Code-point offsets of all (possibly overlapping) occurrences of
    /// `needle`, at most `cap` of them.
    fn find_all(&self, needle: &str, cap: usize) -> Vec<usize> {
        let mut out = Vec::new();
        if needle.is_empty() {
            return out;
        }
        let mut from = 0;
        while let Some(i) = self.src.get(from..).and_then(|h| h.find(needle)) {
            let b = from + i;
            // `b` is a char boundary, so the search always succeeds exactly.
            let idx = match self.bytes.binary_search(&b) {
                Ok(i) | Err(i) => i,
            };
            out.push(idx);
            if out.len() >= cap {
                break;
            }
            from = b + self.src[b..].chars().next().map_or(1, char::len_utf8);
        }
        out
    }

    /// Whether code point `cp` falls between two grapheme clusters (a flag, an emoji with its
    /// modifiers or a letter with its combining marks is never cut).
    fn is_grapheme_boundary(&self, cp: usize) -> bool {
        let at = self.bytes[cp.min(self.len())];
        unicode_segmentation::GraphemeCursor::new(at, self.src.len(), true)
            .is_boundary(self.src, 0)
            .unwrap_or(true)
    }

    /// The full selector for `start..end`, with up to [`CONTEXT_CHARS`] code points of context
    /// from this text on each side, shortened rather than cut inside a grapheme cluster.
    fn selector(&self, start: usize, end: usize) -> Selector {
        let mut from = start.saturating_sub(CONTEXT_CHARS);
        while from < start && !self.is_grapheme_boundary(from) {
            from += 1;
        }
        let mut to = end.saturating_add(CONTEXT_CHARS).min(self.len()).max(end);
        while to > end && !self.is_grapheme_boundary(to) {
            to -= 1;
        }
        Selector {
            quote: TextQuote {
                exact: self.slice(start, end).to_string(),
                prefix: self.slice(from, start).to_string(),
                suffix: self.slice(end, to).to_string(),
            },
            position: TextPosition { start, end },
        }
    }
}

/// Quote-only creation: the unique occurrence, or the one whose surroundings
/// agree with most characters of the given prefix and suffix.
fn locate_quote(doc: &Text<'_>, quote: &TextQuote) -> Result<(usize, usize), AnchorError> {
    let len = quote.exact.chars().count();
    let occurrences = doc.find_all(&quote.exact, usize::MAX);
    match occurrences.as_slice() {
        [] => Err(AnchorError::NotFound),
        [only] => Ok((*only, only + len)),
        _ => {
            let agreement = |start: usize| {
                let before = quote
                    .prefix
                    .chars()
                    .rev()
                    .zip(doc.chars[..start].iter().rev())
                    .take_while(|(a, b)| a == *b)
                    .count();
                let after = quote
                    .suffix
                    .chars()
                    .zip(doc.chars[start + len..].iter())
                    .take_while(|(a, b)| a == *b)
                    .count();
                before + after
            };
            let scored: Vec<(usize, usize)> =
                occurrences.iter().map(|&s| (s, agreement(s))).collect();
            let best = scored.iter().map(|&(_, a)| a).max().unwrap_or(0);
            let mut winners = scored.iter().filter(|&&(_, a)| a == best);
            match (winners.next(), winners.next()) {
                (Some(&(s, _)), None) => Ok((s, s + len)),
                _ => Err(AnchorError::Ambiguous),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Diff: old -> new offset mapping
// ---------------------------------------------------------------------------

/// A run of `len` characters that are equal in both texts:
/// `old[old..old + len] == new[new..new + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    old: usize,
    new: usize,
    len: usize,
}

/// The old → new difference as an ordered list of matching blocks; whatever
/// lies between two blocks was replaced (deleted and/or inserted).
struct Diff {
    blocks: Vec<Block>,
    old_len: usize,
    new_len: usize,
}

impl Diff {
    /// Diffs two texts. Never fails: when the middle part is too expensive to
    /// diff, it is simply left as one replaced region (positions there then
    /// map only approximately and the search stage takes over).
    fn compute(old: &[char], new: &[char]) -> Diff {
        let (n, m) = (old.len(), new.len());
        let mut p = 0;
        while p < n && p < m && old[p] == new[p] {
            p += 1;
        }
        let mut s = 0;
        while s < n - p && s < m - p && old[n - 1 - s] == new[m - 1 - s] {
            s += 1;
        }
        let mut blocks = Vec::new();
        push_block(
            &mut blocks,
            Block {
                old: 0,
                new: 0,
                len: p,
            },
        );
        let (a, b) = (&old[p..n - s], &new[p..m - s]);
        if !a.is_empty() && !b.is_empty() {
            let mut budget = DIFF_BUDGET;
            for blk in diff_middle(a, b, &mut budget) {
                push_block(
                    &mut blocks,
                    Block {
                        old: blk.old + p,
                        new: blk.new + p,
                        len: blk.len,
                    },
                );
            }
        }
        push_block(
            &mut blocks,
            Block {
                old: n - s,
                new: m - s,
                len: s,
            },
        );
        Diff {
            blocks,
            old_len: n,
            new_len: m,
        }
    }

    /// Maps the old character at `x` to the new text. Returns the new index
    /// and `true` if the character survived unchanged; otherwise a position
    /// inside the replacement, proportional to `x`'s place in the replaced
    /// old region, and `false` (a hint only).
    fn map(&self, x: usize) -> (usize, bool) {
        let i = self.blocks.partition_point(|b| b.old + b.len <= x);
        if let Some(b) = self.blocks.get(i) {
            if b.old <= x {
                return (b.new + (x - b.old), true);
            }
        }
        let (old_lo, new_lo) = match i.checked_sub(1).and_then(|j| self.blocks.get(j)) {
            Some(b) => (b.old + b.len, b.new + b.len),
            None => (0, 0),
        };
        let (old_hi, new_hi) = match self.blocks.get(i) {
            Some(b) => (b.old, b.new),
            None => (self.old_len, self.new_len),
        };
        let old_span = old_hi.saturating_sub(old_lo).max(1);
        let new_span = new_hi.saturating_sub(new_lo);
        let offset = x.saturating_sub(old_lo).min(old_span);
        (
            (new_lo + offset * new_span / old_span).min(self.new_len),
            false,
        )
    }

    /// Number of new characters in `start..end` that the diff identifies as
    /// old characters from outside the old range `old_start..old_end`.
    fn foreign_in(&self, start: usize, end: usize, old_start: usize, old_end: usize) -> usize {
        let first = self.blocks.partition_point(|b| b.new + b.len <= start);
        self.blocks[first..]
            .iter()
            .take_while(|b| b.new < end)
            .map(|b| {
                let (lo, hi) = (start.max(b.new), end.min(b.new + b.len));
                let (old_lo, old_hi) = (b.old + (lo - b.new), b.old + (hi - b.new));
                let inside = old_hi.min(old_end).saturating_sub(old_lo.max(old_start));
                (hi - lo) - inside
            })
            .sum()
    }

    /// Number of old characters in `start..end` that survived unchanged.
    fn matched_in(&self, start: usize, end: usize) -> usize {
        let first = self.blocks.partition_point(|b| b.old + b.len <= start);
        self.blocks[first..]
            .iter()
            .take_while(|b| b.old < end)
            .map(|b| (b.old + b.len).min(end) - b.old.max(start))
            .sum()
    }
}

/// Appends a block, merging it with the previous one when contiguous.
fn push_block(blocks: &mut Vec<Block>, blk: Block) {
    if blk.len == 0 {
        return;
    }
    if let Some(last) = blocks.last_mut() {
        if last.old + last.len == blk.old && last.new + last.len == blk.new {
            last.len += blk.len;
            return;
        }
    }
    blocks.push(blk);
}

/// Letters and digits of scripts that separate words with spaces. CJK and
/// later blocks are written without spaces, so each of their characters
/// counts as a word of its own (this keeps diff tokens short too).
fn is_word_char(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && (c as u32) < 0x2E80
}

/// True unless offset `i` of `text` falls between two word characters.
fn at_word_boundary(text: &[char], i: usize) -> bool {
    match (i.checked_sub(1).and_then(|j| text.get(j)), text.get(i)) {
        (Some(&a), Some(&b)) => !(is_word_char(a) && is_word_char(b)),
        _ => true,
    }
}

/// Word-ish tokens: a run of letters/digits of an alphabetic script, or any
/// other single character (whitespace, punctuation, CJK ideographs, emoji
/// parts). Returns `(start, end)` char ranges covering `chars` contiguously.
fn tokenize(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        i += 1;
        if is_word_char(chars[start]) {
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
        }
        out.push((start, i));
    }
    out
}

/// Diffs two non-empty texts that share no prefix or suffix: Myers over word
/// tokens, then Myers over characters inside small replaced regions.
/// Returns matching blocks relative to `a` and `b`.
fn diff_middle(a: &[char], b: &[char], budget: &mut usize) -> Vec<Block> {
    let ta = tokenize(a);
    let tb = tokenize(b);
    // Intern tokens so that Myers compares integers.
    let mut ids: HashMap<&[char], u32> = HashMap::new();
    let mut ia: Vec<u32> = Vec::with_capacity(ta.len());
    for &(s, e) in &ta {
        let next = ids.len() as u32;
        ia.push(*ids.entry(&a[s..e]).or_insert(next));
    }
    let mut ib: Vec<u32> = Vec::with_capacity(tb.len());
    for &(s, e) in &tb {
        let next = ids.len() as u32;
        ib.push(*ids.entry(&b[s..e]).or_insert(next));
    }
    let mut out = Vec::new();
    let Some(runs) = myers_runs(&ia, &ib, MAX_TOKEN_EDITS, budget) else {
        return out;
    };
    let start_a = |i: usize| ta.get(i).map_or(a.len(), |t| t.0);
    let start_b = |j: usize| tb.get(j).map_or(b.len(), |t| t.0);
    let (mut i, mut j) = (0, 0);
    let sentinel = (ta.len(), tb.len(), 0);
    for &(ri, rj, len) in runs.iter().chain(std::iter::once(&sentinel)) {
        // Replaced region between the previous run and this one.
        let (a0, a1) = (start_a(i), start_a(ri));
        let (b0, b1) = (start_b(j), start_b(rj));
        if a1 > a0 && b1 > b0 && (a1 - a0) + (b1 - b0) <= REFINE_MAX {
            let ca: Vec<u32> = a[a0..a1].iter().map(|&c| c as u32).collect();
            let cb: Vec<u32> = b[b0..b1].iter().map(|&c| c as u32).collect();
            if let Some(char_runs) = myers_runs(&ca, &cb, REFINE_MAX, budget) {
                out.extend(char_runs.into_iter().map(|(x, y, l)| Block {
                    old: a0 + x,
                    new: b0 + y,
                    len: l,
                }));
            }
        }
        if len > 0 {
            let (s, e) = (start_a(ri), start_a(ri + len));
            out.push(Block {
                old: s,
                new: start_b(rj),
                len: e - s,
            });
        }
        i = ri + len;
        j = rj + len;
    }
    out
}

/// Myers' O((n+m)·D) greedy diff of two sequences. Returns the matching runs
/// `(a_index, b_index, len)` of a shortest edit script in order, or `None` if
/// the edit distance exceeds `max_d` or the work `budget` runs out.
///
/// Memory is O(D²) for the backtracking trace, hence the `max_d` bound.
fn myers_runs(
    a: &[u32],
    b: &[u32],
    max_d: usize,
    budget: &mut usize,
) -> Option<Vec<(usize, usize, usize)>> {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return Some(Vec::new());
    }
    let max_d = max_d.min(n + m);
    let off = max_d as isize + 1;
    // v[k + off] = furthest x reached on diagonal k (= x - y).
    let mut v = vec![0usize; 2 * max_d + 3];
    // trace holds, for each d, the values of v for k in -d..=d (d*d offset).
    let mut trace: Vec<u32> = Vec::new();
    let mut final_d = None;
    'outer: for d in 0..=max_d as isize {
        let mut k = -d;
        while k <= d {
            *budget = budget.checked_sub(1)?;
            let idx = (k + off) as usize;
            let mut x = if k == -d || (k != d && v[idx - 1] < v[idx + 1]) {
                v[idx + 1]
            } else {
                v[idx - 1] + 1
            };
            let mut y = (x as isize - k) as usize;
            let x0 = x;
            while x < n && y < m && a[x] == b[y] {
                x += 1;
                y += 1;
            }
            *budget = budget.checked_sub(x - x0)?;
            v[idx] = x;
            if x >= n && y >= m {
                // Record this last row so backtracking can read it uniformly.
                for kk in (-d..=d).map(|kk| (kk + off) as usize) {
                    trace.push(v[kk] as u32);
                }
                final_d = Some(d);
                break 'outer;
            }
            k += 2;
        }
        for kk in (-d..=d).map(|kk| (kk + off) as usize) {
            trace.push(v[kk] as u32);
        }
    }
    let final_d = final_d?;
    let at = |d: isize, k: isize| -> isize { trace[(d * d + k + d) as usize] as isize };
    let mut runs = Vec::new();
    let (mut x, mut y) = (n as isize, m as isize);
    for d in (1..=final_d).rev() {
        let k = x - y;
        let down = k == -d || (k != d && at(d - 1, k - 1) < at(d - 1, k + 1));
        let prev_k = if down { k + 1 } else { k - 1 };
        let prev_x = at(d - 1, prev_k);
        let prev_y = prev_x - prev_k;
        let (mid_x, mid_y) = if down {
            (prev_x, prev_y + 1)
        } else {
            (prev_x + 1, prev_y)
        };
        if x > mid_x {
            runs.push((mid_x as usize, mid_y as usize, (x - mid_x) as usize));
        }
        x = prev_x;
        y = prev_y;
    }
    if x > 0 {
        runs.push((0, 0, x as usize));
    }
    runs.reverse();
    Some(runs)
}

// ---------------------------------------------------------------------------
// Bit-parallel edit distance (Myers 1999, blocks as in Hyyrö 2003 / edlib)
// ---------------------------------------------------------------------------

/// A pattern preprocessed for bit-parallel edit-distance computation against
/// any text: one bit per pattern character, in 64-bit blocks.
struct BitPattern {
    len: usize,
    blocks: usize,
    /// Symbol index + 1 for ASCII characters (0: not in the pattern).
    ascii: [u32; 128],
    /// Symbol indices of other characters, sorted by character.
    others: Vec<(char, u32)>,
    /// `peq[sym * blocks + b]`: bit i set iff pattern[64b + i] is `sym`.
    peq: Vec<u64>,
}

impl BitPattern {
    /// Preprocesses a non-empty pattern.
    fn new(pattern: &[char]) -> Self {
        let len = pattern.len();
        let blocks = len.div_ceil(64).max(1);
        let mut ascii = [0u32; 128];
        let mut others: HashMap<char, u32> = HashMap::new();
        let mut peq: Vec<u64> = Vec::new();
        let mut symbols = 0u32;
        for (i, &c) in pattern.iter().enumerate() {
            let sym = if (c as u32) < 128 {
                let slot = &mut ascii[c as usize];
                if *slot == 0 {
                    symbols += 1;
                    *slot = symbols;
                }
                *slot - 1
            } else {
                *others.entry(c).or_insert_with(|| {
                    symbols += 1;
                    symbols
                }) - 1
            };
            let needed = symbols as usize * blocks;
            if peq.len() < needed {
                peq.resize(needed, 0);
            }
            peq[sym as usize * blocks + i / 64] |= 1u64 << (i % 64);
        }
        let mut others: Vec<(char, u32)> = others.into_iter().map(|(c, s)| (c, s - 1)).collect();
        others.sort_unstable();
        BitPattern {
            len,
            blocks,
            ascii,
            others,
            peq,
        }
    }

    /// The match bit vector of `c`, or `None` if `c` is not in the pattern.
    fn peq_of(&self, c: char) -> Option<&[u64]> {
        let sym = if (c as u32) < 128 {
            self.ascii[c as usize].checked_sub(1)?
        } else {
            let i = self.others.binary_search_by_key(&c, |&(ch, _)| ch).ok()?;
            self.others[i].1
        } as usize;
        self.peq.get(sym * self.blocks..(sym + 1) * self.blocks)
    }

    /// Runs the edit-distance DP column by column over `text` and calls
    /// `f(j, d)` after each text character, where `j` is the number of text
    /// characters consumed and `d` the edit distance of the whole pattern
    /// against:
    /// - `anchored == false`: the best substring of `text` ending at `j`
    ///   (approximate search: matches may start anywhere);
    /// - `anchored == true`: exactly `text[..j]`.
    ///
    /// Stops early when `f` returns `false`.
    fn scan(
        &self,
        text: impl Iterator<Item = char>,
        anchored: bool,
        mut f: impl FnMut(usize, usize) -> bool,
    ) {
        if self.len == 0 {
            return;
        }
        let last = self.blocks - 1;
        let last_bit = 1u64 << ((self.len - 1) % 64);
        let mut pv = vec![!0u64; self.blocks];
        let mut mv = vec![0u64; self.blocks];
        let mut score = self.len;
        for (j, c) in text.enumerate() {
            let eqs = self.peq_of(c);
            // Horizontal delta entering the top row: 0 for search (row 0 is
            // all zeros), +1 for anchored (row 0 is 0, 1, 2, ...).
            let mut hin: i32 = i32::from(anchored);
            for b in 0..self.blocks {
                let eq = eqs.map_or(0, |e| e[b]);
                let (pvb, mvb) = (pv[b], mv[b]);
                let hin_neg = u64::from(hin < 0);
                let xv = eq | mvb;
                let eq = eq | hin_neg;
                let xh = ((eq & pvb).wrapping_add(pvb) ^ pvb) | eq;
                let mut ph = mvb | !(xh | pvb);
                let mut mh = pvb & xh;
                if b == last {
                    if ph & last_bit != 0 {
                        score += 1;
                    } else if mh & last_bit != 0 {
                        score -= 1;
                    }
                }
                let hout = (ph >> 63) as i32 - (mh >> 63) as i32;
                ph = (ph << 1) | u64::from(hin > 0);
                mh = (mh << 1) | hin_neg;
                pv[b] = mh | !(xv | ph);
                mv[b] = ph & xv;
                hin = hout;
            }
            if !f(j + 1, score) {
                break;
            }
        }
    }

    /// Smallest edit distance between the pattern and any prefix of `text`
    /// (including the empty prefix, which costs the pattern length).
    fn best_prefix_distance(&self, text: impl Iterator<Item = char>) -> usize {
        let mut best = self.len;
        self.scan(text, true, |_, d| {
            best = best.min(d);
            best > 0
        });
        best
    }
}

/// Approximate occurrences of `quote` in `text` with 1..=k edits, as
/// `(start, end, distance)`. Exact occurrences are left to the caller.
fn approx_matches(text: &[char], quote: &[char], k: usize) -> Vec<(usize, usize, usize)> {
    let m = quote.len();
    let fwd = BitPattern::new(quote);
    let mut scores: Vec<u32> = Vec::with_capacity(text.len());
    fwd.scan(text.iter().copied(), false, |_, d| {
        scores.push(d as u32);
        true
    });
    // Match ends: the bottoms of the valleys of the score curve below k,
    // plus their neighbours one edit worse. Where exactly a passage ends is
    // ambiguous when edits cluster near its end (an insertion there can also
    // be read as a substitution of the passage's last character), so all
    // these ends are kept (up to MAX_TIES per valley) and the context
    // decides between them later.
    let mut ends: Vec<(usize, usize)> = Vec::new();
    let mut j = 0;
    while j < scores.len() {
        let d = scores[j];
        if d == 0 || d as usize > k {
            j += 1;
            continue;
        }
        let mut p = j;
        while p < scores.len() && scores[p] == d {
            p += 1;
        }
        let left_higher = j == 0 || scores[j - 1] > d;
        let right_higher = p == scores.len() || scores[p] > d;
        if left_higher && right_higher {
            let near = |t: &usize| scores[*t] <= d + 1 && scores[*t] as usize <= k;
            let before = (j.saturating_sub(2)..j).filter(near);
            let after = (p..(p + 2).min(scores.len())).filter(near);
            ends.extend(
                (j..p)
                    .chain(before)
                    .chain(after)
                    .take(MAX_TIES)
                    .map(|t| (t + 1, scores[t] as usize)),
            );
        }
        j = p;
    }
    ends.sort_by_key(|&(e, d)| (d, e));
    ends.truncate(MAX_APPROX_CANDIDATES);

    // Recover each match's start by aligning the reversed quote backwards
    // from its end. The best starts and those one edit worse (e.g. "b|é|ut"
    // for "but": insertion after the first char, or substitution of it) all
    // become candidates; the context decides between them later.
    let rev_quote: Vec<char> = quote.iter().rev().copied().collect();
    let rev = BitPattern::new(&rev_quote);
    let mut out = Vec::with_capacity(ends.len());
    let mut lengths: Vec<(usize, usize)> = Vec::new(); // (distance, length)
    for (end, _) in ends {
        lengths.clear();
        rev.scan(
            text[..end].iter().rev().copied().take(m + k),
            true,
            |l, d| {
                lengths.push((d, l));
                true
            },
        );
        let Some(best) = lengths.iter().map(|&(d, _)| d).min() else {
            continue;
        };
        if best == 0 || best > k {
            continue;
        }
        lengths.retain(|&(d, _)| d <= (best + 1).min(k));
        lengths.sort_by_key(|&(d, l)| (d, l.abs_diff(m)));
        out.extend(
            lengths
                .iter()
                .take(MAX_TIES)
                .map(|&(d, l)| (end - l, end, d)),
        );
    }
    out
}

// ---------------------------------------------------------------------------
// Candidate scoring
// ---------------------------------------------------------------------------

/// How well a candidate position in the new text matches a selector.
#[derive(Debug, Clone, Copy)]
struct Scored {
    start: usize,
    end: usize,
    /// Quote similarity, `1 - distance / quote length`.
    qsim: f64,
    /// Prefix/suffix similarity above chance, in `[0, 1]`.
    prefix_eff: f64,
    suffix_eff: f64,
    /// Characters of quote and context that line up (edits count double
    /// against the quote), plus a little for closeness to the expected place.
    evidence: f64,
    /// Confidence reported for this candidate, in `[0, 1]`.
    confidence: f64,
}

/// Scores candidate positions of one selector in the new text.
struct Scorer<'t> {
    text: &'t [char],
    diff: &'t Diff,
    /// The passage's range in the old text, if the selector matches it.
    old_range: Option<(usize, usize)>,
    quote_len: usize,
    prefix: Vec<char>,
    suffix: Vec<char>,
    /// The prefix reversed (it is aligned backwards from the candidate).
    prefix_pat: Option<BitPattern>,
    suffix_pat: Option<BitPattern>,
    expected: usize,
    position_scale: f64,
    /// Whether the old passage started / ended at a word boundary.
    word_start: bool,
    word_end: bool,
}

impl<'t> Scorer<'t> {
    fn new(
        text: &'t [char],
        diff: &'t Diff,
        old_range: Option<(usize, usize)>,
        quote: &[char],
        prefix: Vec<char>,
        suffix: Vec<char>,
    ) -> Self {
        let rev_prefix: Vec<char> = prefix.iter().rev().copied().collect();
        let with_prefix: Vec<char> = prefix
            .last()
            .into_iter()
            .chain(quote.first())
            .copied()
            .collect();
        let with_suffix: Vec<char> = quote
            .last()
            .into_iter()
            .chain(suffix.first())
            .copied()
            .collect();
        Scorer {
            text,
            diff,
            old_range,
            quote_len: quote.len(),
            word_start: at_word_boundary(&with_prefix, with_prefix.len().saturating_sub(1)),
            word_end: at_word_boundary(&with_suffix, 1),
            prefix_pat: (!prefix.is_empty()).then(|| BitPattern::new(&rev_prefix)),
            suffix_pat: (!suffix.is_empty()).then(|| BitPattern::new(&suffix)),
            prefix,
            suffix,
            expected: 0,
            position_scale: (2 * CONTEXT_CHARS).max(text.len() / 4) as f64,
        }
    }

    /// Evidence a candidate needs to be accepted.
    fn min_evidence(&self) -> f64 {
        let available = (self.quote_len + self.prefix.len() + self.suffix.len()) as f64;
        MIN_EVIDENCE.min(0.8 * available)
    }

    /// Evidence lead the `best` candidate needs over any other. It grows with
    /// the evidence `best` lacks: when its own context is damaged, small
    /// differences between candidates are mostly noise (e.g. two copies of a
    /// word a few characters apart, both amid rewritten text). It is smaller
    /// for tiny posts, where little evidence exists at all.
    fn margin(&self, best: &Scored) -> f64 {
        let available = (self.quote_len + self.prefix.len() + self.suffix.len()) as f64;
        let base = MIN_MARGIN
            .max(0.05 * self.quote_len as f64)
            .min(0.4 * available);
        base + 0.25 * (available - best.evidence).max(0.0)
    }

    /// Whether `s..e` can be the passage at all:
    /// - a passage that began (ended) at a word boundary must still do so:
    ///   "of" inside "often" is not the word "of", whatever the context says;
    /// - it must not be (mostly) text that the diff identifies as old text
    ///   from elsewhere: when "X and and Y" becomes "X and Y", or one of two
    ///   equal sentences is deleted, the survivor is the *other* one.
    fn plausible(&self, s: usize, e: usize) -> bool {
        let words_ok = (!self.word_start || at_word_boundary(self.text, s))
            && (!self.word_end || at_word_boundary(self.text, e));
        let own = self
            .old_range
            .is_none_or(|(os, oe)| 2 * self.diff.foreign_in(s, e, os, oe) <= e - s);
        words_ok && own
    }

    /// True if the stored prefix and suffix are still exactly around `s..e`.
    fn context_identical(&self, s: usize, e: usize) -> bool {
        let (pl, sl) = (self.prefix.len(), self.suffix.len());
        s >= pl
            && e + sl <= self.text.len()
            && self.text[s - pl..s] == self.prefix[..]
            && self.text[e..e + sl] == self.suffix[..]
    }

    fn score(&self, start: usize, end: usize, distance: usize) -> Scored {
        let q = self.quote_len as f64;
        let qsim = (1.0 - distance as f64 / q).max(0.0);
        // Compare against a window somewhat longer than the stored context,
        // so that text inserted right next to the passage costs only its
        // length instead of misaligning everything.
        let similarity = |pat: &Option<BitPattern>, window: &mut dyn Iterator<Item = char>| {
            pat.as_ref().map_or(0.0, |p| {
                1.0 - p.best_prefix_distance(window) as f64 / p.len as f64
            })
        };
        let pl = self.prefix.len();
        let sl = self.suffix.len();
        let lo = start.saturating_sub(2 * pl + 8);
        let hi = (end + 2 * sl + 8).min(self.text.len());
        let prefix_sim = similarity(
            &self.prefix_pat,
            &mut self.text[lo..start].iter().rev().copied(),
        );
        let suffix_sim = similarity(&self.suffix_pat, &mut self.text[end..hi].iter().copied());
        let above_chance =
            |sim: f64| ((sim - CONTEXT_BASELINE) / (1.0 - CONTEXT_BASELINE)).clamp(0.0, 1.0);
        let prefix_eff = above_chance(prefix_sim);
        let suffix_eff = above_chance(suffix_sim);
        let (plf, slf) = (pl as f64, sl as f64);
        let context_chars = plf * prefix_eff + slf * suffix_eff;
        let closeness =
            1.0 - ((start as f64 - self.expected as f64).abs() / self.position_scale).min(1.0);
        let evidence = q * (2.0 * qsim - 1.0) + context_chars + POSITION_WEIGHT * closeness;
        let context = if pl + sl > 0 {
            context_chars / (plf + slf)
        } else {
            0.5
        };
        Scored {
            start,
            end,
            qsim,
            prefix_eff,
            suffix_eff,
            evidence,
            confidence: (qsim * (0.75 + 0.25 * context)).clamp(0.0, 1.0),
        }
    }
}

// ---------------------------------------------------------------------------
// Re-anchoring
// ---------------------------------------------------------------------------

/// Shared state for re-anchoring many selectors over one edit.
struct Reanchorer<'a> {
    old: Text<'a>,
    new: Text<'a>,
    diff: Diff,
}

impl<'a> Reanchorer<'a> {
    fn new(old: &'a str, new: &'a str) -> Self {
        let old = Text::new(old);
        let new = Text::new(new);
        let diff = Diff::compute(&old.chars, &new.chars);
        Reanchorer { old, new, diff }
    }

    fn result(&self, state: AnchorState, start: usize, end: usize, confidence: f64) -> Reanchored {
        Reanchored {
            state,
            selector: Some(self.new.selector(start, end)),
            confidence,
        }
    }

    fn reanchor(&self, sel: &Selector) -> Reanchored {
        let quote: Vec<char> = sel.quote.exact.chars().collect();
        if quote.is_empty() {
            return Reanchored::orphaned();
        }
        // Use at most CONTEXT_CHARS of context, nearest to the passage.
        let prefix: Vec<char> = {
            let p: Vec<char> = sel.quote.prefix.chars().collect();
            p[p.len().saturating_sub(CONTEXT_CHARS)..].to_vec()
        };
        let suffix: Vec<char> = sel.quote.suffix.chars().take(CONTEXT_CHARS).collect();
        // The old range, clamped (a stale selector may point anywhere).
        let old_len = self.old.len();
        let os = sel.position.start.min(old_len);
        let oe = sel.position.end.clamp(os, old_len);
        // Only a selector that matches the old text tells us which old
        // characters are the passage (and which are other text).
        let consistent = self.old.chars[os..oe] == quote[..];
        let mut scorer = Scorer::new(
            &self.new.chars,
            &self.diff,
            consistent.then_some((os, oe)),
            &quote,
            prefix,
            suffix,
        );

        // Map the range through the diff: the first char by itself, the end
        // through the last char. `mapped` is set only if both survived.
        let (mapped, expected) = if os < oe {
            let (ms, start_ok) = self.diff.map(os);
            let (ml, end_ok) = self.diff.map(oe - 1);
            let me = ml + 1;
            ((start_ok && end_ok && ms < me).then_some((ms, me)), ms)
        } else {
            (None, self.diff.map(os.min(old_len.saturating_sub(1))).0)
        };
        scorer.expected = expected;
        let unchanged = mapped == Some((os, oe));

        // Stage 2: the diff says where the passage went.
        if let Some((ms, me)) = mapped {
            if self.new.chars[ms..me] == quote[..] {
                if let Some(confidence) = self.trust_mapped(&scorer, &sel.quote.exact, ms, me) {
                    return if unchanged {
                        self.result(AnchorState::Anchored, ms, me, 1.0)
                    } else {
                        self.result(AnchorState::Moved, ms, me, confidence)
                    };
                }
            }
        } else if os < oe
            && oe <= self.new.len()
            && self.new.chars[os..oe] == quote[..]
            && scorer.context_identical(os, oe)
        {
            // The diff gave up on this region, but passage and full context
            // are still in place.
            return self.result(AnchorState::Anchored, os, oe, 1.0);
        }

        // Stage 3: search.
        self.search(
            &scorer,
            &sel.quote.exact,
            &quote,
            mapped,
            (os, oe),
            unchanged,
        )
    }

    /// Decides whether the passage the diff mapped onto `ms..me` (which holds
    /// exactly the quote) can be trusted, and with what confidence. The diff
    /// alone is not enough: on a heavy rewrite it aligns whatever is common,
    /// e.g. a lone "the" in a different sentence.
    fn trust_mapped(&self, scorer: &Scorer<'_>, exact: &str, ms: usize, me: usize) -> Option<f64> {
        if scorer.context_identical(ms, me) {
            return Some(1.0);
        }
        if !scorer.plausible(ms, me) {
            return None;
        }
        let mapped = scorer.score(ms, me, 0);
        let confidence = 0.9 + 0.1 * (mapped.prefix_eff + mapped.suffix_eff) / 2.0;
        let len = scorer.quote_len;
        let others: Vec<usize> = self
            .new
            .find_all(exact, MAX_EXACT_CANDIDATES)
            .into_iter()
            .filter(|&s| s + len <= ms || s >= me)
            .collect();
        if others.is_empty() {
            let enough = len >= MIN_UNIQUE_QUOTE || mapped.evidence >= scorer.min_evidence();
            return enough.then_some(confidence);
        }
        // Not unique: the context must be good, and better than that of any
        // other occurrence that could be the passage.
        if mapped.evidence < scorer.min_evidence() {
            return None;
        }
        let margin = scorer.margin(&mapped);
        others
            .iter()
            .filter(|&&s| scorer.plausible(s, s + len))
            .all(|&s| mapped.evidence - scorer.score(s, s + len, 0).evidence >= margin)
            .then_some(confidence)
    }

    /// Stage 3: find the quote in the new text, exactly or approximately, and
    /// accept the best candidate only if it is clearly the passage.
    fn search(
        &self,
        scorer: &Scorer<'_>,
        exact: &str,
        quote: &[char],
        mapped: Option<(usize, usize)>,
        (os, oe): (usize, usize),
        unchanged: bool,
    ) -> Reanchored {
        let q_len = quote.len();
        let max_errors = (q_len as f64 * MAX_ERROR_RATE) as usize;
        let mut candidates: Vec<(usize, usize, usize)> = self
            .new
            .find_all(exact, MAX_EXACT_CANDIDATES)
            .into_iter()
            .map(|s| (s, s + q_len, 0))
            .collect();
        if q_len <= MAX_APPROX_QUOTE {
            if max_errors > 0 {
                candidates.extend(approx_matches(&self.new.chars, quote, max_errors));
            }
        } else if let Some((ms, me)) = mapped {
            // Too long to search approximately: judge the diff-mapped range
            // by how many of the passage's characters survived.
            let kept = self.diff.matched_in(os, oe);
            let distance = q_len.max(me - ms).saturating_sub(kept);
            if distance <= max_errors {
                candidates.push((ms, me, distance));
            }
        }
        candidates.retain(|&(s, e, _)| scorer.plausible(s, e));
        candidates.sort_unstable();
        candidates.dedup_by_key(|c| (c.0, c.1));
        let scored: Vec<Scored> = candidates
            .iter()
            .map(|&(s, e, d)| scorer.score(s, e, d))
            .collect();
        let Some(best) = scored
            .iter()
            .copied()
            .max_by(|a, b| a.evidence.total_cmp(&b.evidence))
        else {
            return Reanchored::orphaned();
        };
        if best.evidence < scorer.min_evidence() {
            return Reanchored::orphaned();
        }
        // An edited passage must also be recognisable by its surroundings,
        // unless it is long and only lightly edited.
        let recognisable = best.qsim >= 1.0
            || best.prefix_eff.max(best.suffix_eff) >= 0.5
            || (q_len >= 64 && best.qsim >= 0.9);
        if !recognisable {
            return Reanchored::orphaned();
        }
        // Candidates overlapping the best are the same place with other
        // boundaries; anything else must be clearly worse.
        let runner_up = scored
            .iter()
            .filter(|c| c.end <= best.start || c.start >= best.end)
            .map(|c| c.evidence)
            .fold(f64::NEG_INFINITY, f64::max);
        if best.evidence - runner_up < scorer.margin(&best) {
            return Reanchored::orphaned();
        }
        // The diff says most of the passage is still in place, but the search
        // prefers another spot: e.g. its surroundings were rewritten and a
        // copy of the quote now sits where the old context continues. The
        // diff can be fooled by coincidences and the context by copies; the
        // in-place passage wins only if it still has a well-matching side of
        // context, otherwise nobody can tell and the selector is orphaned.
        if let Some((ms, me)) = mapped {
            let in_place = scorer.old_range.is_some()
                && 4 * self.diff.matched_in(os, oe) >= 3 * q_len
                && scorer.plausible(ms, me);
            if in_place && (best.end <= ms || best.start >= me) {
                let here = scorer.score(ms, me, 0);
                let holds_quote = self.new.chars[ms..me] == *quote;
                if holds_quote && here.prefix_eff.max(here.suffix_eff) >= 0.75 {
                    let state = if unchanged {
                        AnchorState::Anchored
                    } else {
                        AnchorState::Moved
                    };
                    return self.result(state, ms, me, if unchanged { 1.0 } else { 0.9 });
                }
                return Reanchored::orphaned();
            }
        }
        if unchanged && (best.start, best.end) == (os, oe) && best.qsim >= 1.0 {
            return self.result(AnchorState::Anchored, os, oe, 1.0);
        }
        self.result(AnchorState::Moved, best.start, best.end, best.confidence)
    }
}

#[cfg(test)]
mod corpus;

#[cfg(test)]
mod tests {
    use super::*;

    fn q(exact: &str, prefix: &str, suffix: &str) -> TextQuote {
        TextQuote {
            exact: exact.to_string(),
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
        }
    }

    fn pos(start: usize, end: usize) -> TextPosition {
        TextPosition { start, end }
    }

    const TEXT: &str = "The cat sat on the mat. The dog sat on the log.";

    #[test]
    fn context_is_never_cut_inside_a_grapheme_cluster() {
        // the 32-code-point window before the passage starts between the flag's two regional
        // indicators, and the one after it ends there: each is shortened to keep the flag whole
        let text = format!("🇨🇳{}PASSAGE{}🇨🇳 tail", "x".repeat(31), "y".repeat(31));
        let sel = resolve(&text, Some(&TextQuote::new("PASSAGE")), None).unwrap();
        assert_eq!(sel.quote.prefix, "x".repeat(31));
        assert_eq!(sel.quote.suffix, "y".repeat(31));
        // a whole flag inside the window is kept
        let text = format!("a🇨🇳{}PASSAGE", "x".repeat(28));
        let sel = resolve(&text, Some(&TextQuote::new("PASSAGE")), None).unwrap();
        assert_eq!(sel.quote.prefix, format!("a🇨🇳{}", "x".repeat(28)));
        // combining marks stay on their letter
        let text = format!("e\u{301}{}PASSAGE", "x".repeat(31));
        let sel = resolve(&text, Some(&TextQuote::new("PASSAGE")), None).unwrap();
        assert_eq!(sel.quote.prefix, "x".repeat(31));
    }

    #[test]
    fn resolve_both_matching() {
        let sel = resolve(TEXT, Some(&TextQuote::new("cat")), Some(pos(4, 7))).unwrap();
        assert_eq!(sel.position, pos(4, 7));
        assert_eq!(sel.quote.exact, "cat");
        assert_eq!(sel.quote.prefix, "The ");
        assert_eq!(sel.quote.suffix, " sat on the mat. The dog sat on ");
        assert_eq!(sel.quote.suffix.chars().count(), CONTEXT_CHARS);
    }

    #[test]
    fn resolve_mismatch() {
        let err = resolve(TEXT, Some(&TextQuote::new("dog")), Some(pos(4, 7))).unwrap_err();
        assert_eq!(err, AnchorError::Mismatch);
        assert_eq!(err.field(), "exact");
    }

    #[test]
    fn resolve_position_errors() {
        let len = TEXT.chars().count();
        assert_eq!(
            resolve(TEXT, None, Some(pos(3, len + 1))),
            Err(AnchorError::OutOfRange)
        );
        assert_eq!(AnchorError::OutOfRange.field(), "end");
        assert_eq!(
            resolve(TEXT, None, Some(pos(7, 4))),
            Err(AnchorError::Reversed)
        );
        assert_eq!(AnchorError::Reversed.field(), "start");
        assert_eq!(
            resolve(TEXT, None, Some(pos(4, 4))),
            Err(AnchorError::EmptyRange)
        );
        // The full text is a valid range.
        assert!(resolve(TEXT, None, Some(pos(0, len))).is_ok());
    }

    #[test]
    fn resolve_empty() {
        assert_eq!(resolve(TEXT, None, None), Err(AnchorError::EmptyQuote));
        assert_eq!(
            resolve(TEXT, Some(&TextQuote::new("")), None),
            Err(AnchorError::EmptyQuote)
        );
        assert_eq!(
            resolve(TEXT, Some(&TextQuote::new("")), Some(pos(0, 3))),
            Err(AnchorError::EmptyQuote)
        );
        assert_eq!(
            resolve("", None, Some(pos(0, 1))),
            Err(AnchorError::OutOfRange)
        );
        assert!(!AnchorError::EmptyQuote.message().is_empty());
    }

    #[test]
    fn resolve_position_only() {
        let sel = resolve(TEXT, None, Some(pos(28, 31))).unwrap();
        assert_eq!(sel.quote.exact, "dog");
        assert_eq!(sel.quote.prefix, "The cat sat on the mat. The ");
    }

    #[test]
    fn resolve_quote_only_unique() {
        let sel = resolve(TEXT, Some(&TextQuote::new("mat")), None).unwrap();
        assert_eq!(sel.position, pos(19, 22));
        assert_eq!(
            resolve(TEXT, Some(&TextQuote::new("bird")), None),
            Err(AnchorError::NotFound)
        );
    }

    #[test]
    fn resolve_quote_only_repeated_by_prefix_and_suffix() {
        // "sat on the" occurs twice; the prefix picks the second one.
        let sel = resolve(TEXT, Some(&q("sat on the", "The dog ", "")), None).unwrap();
        assert_eq!(sel.position, pos(32, 42));
        // The suffix alone picks the first.
        let sel = resolve(TEXT, Some(&q("sat on the", "", " mat")), None).unwrap();
        assert_eq!(sel.position, pos(8, 18));
        // Partial agreement counts: "cat " agrees with 4 chars, "dog " with 4 too,
        // but "t " + suffix " m" decides.
        let sel = resolve(TEXT, Some(&q("sat on the", "xx cat ", " m")), None).unwrap();
        assert_eq!(sel.position, pos(8, 18));
    }

    #[test]
    fn resolve_quote_only_ambiguous() {
        let err = resolve(TEXT, Some(&TextQuote::new("sat on the")), None).unwrap_err();
        assert_eq!(err, AnchorError::Ambiguous);
        assert_eq!(err.field(), "prefix");
        // Context that fits both equally well is still ambiguous.
        assert_eq!(
            resolve(TEXT, Some(&q("sat on the", "The ", "")), None),
            Err(AnchorError::Ambiguous)
        );
        // Overlapping occurrences are occurrences too.
        assert_eq!(
            resolve("aaaa", Some(&TextQuote::new("aa")), None),
            Err(AnchorError::Ambiguous)
        );
    }

    #[test]
    fn resolve_emoji_offsets_round_trip() {
        let text = "Go 🇨🇳 team! 👨‍👩‍👧 café 中文 done";
        let sel = resolve(text, Some(&TextQuote::new("team")), None).unwrap();
        // "Go " = 3, flag = 2 code points, " " = 1.
        assert_eq!(sel.position, pos(6, 10));
        assert_eq!(sel.quote.prefix, "Go 🇨🇳 ");
        let back = resolve(text, None, Some(sel.position)).unwrap();
        assert_eq!(back, sel);
        let sel = resolve(text, Some(&TextQuote::new("中文")), None).unwrap();
        let again = resolve(text, Some(&sel.quote), Some(sel.position)).unwrap();
        assert_eq!(again, sel);
        // Family emoji: 5 code points (3 people + 2 ZWJ).
        let fam = resolve(text, Some(&TextQuote::new("👨‍👩‍👧")), None).unwrap();
        assert_eq!(fam.position.end - fam.position.start, 5);
        assert_eq!(
            utf16_offset(text, fam.position.end) - utf16_offset(text, fam.position.start),
            8
        );
    }

    #[test]
    fn utf16_offsets() {
        let text = "a🇨🇳b";
        assert_eq!(text.chars().count(), 4); // flag = 2 code points
        assert_eq!(utf16_offset(text, 0), 0);
        assert_eq!(utf16_offset(text, 1), 1);
        assert_eq!(utf16_offset(text, 2), 3);
        assert_eq!(utf16_offset(text, 3), 5); // flag = 4 UTF-16 units
        assert_eq!(utf16_offset(text, 4), 6);
        assert_eq!(utf16_offset(text, 99), 6);
        assert_eq!(utf16_offset("中é", 2), 2);
        assert_eq!(cp_offset_from_utf16(text, 5), Some(3));
        assert_eq!(cp_offset_from_utf16(text, 2), None); // inside a surrogate pair
        assert_eq!(cp_offset_from_utf16(text, 6), Some(4));
        assert_eq!(cp_offset_from_utf16(text, 7), None);
        for cp in 0..=4 {
            assert_eq!(cp_offset_from_utf16(text, utf16_offset(text, cp)), Some(cp));
        }
    }

    #[test]
    fn state_strings_and_errors_display() {
        assert_eq!(AnchorState::Anchored.as_str(), "anchored");
        assert_eq!(AnchorState::Moved.as_str(), "moved");
        assert_eq!(AnchorState::Orphaned.as_str(), "orphaned");
        assert!(AnchorError::Ambiguous.to_string().starts_with("prefix: "));
    }

    /// Plain O(n·m) edit distance DP, as reference for the bit-parallel code.
    fn naive_scores(p: &[char], t: &[char], anchored: bool) -> Vec<usize> {
        let mut prev: Vec<usize> = (0..=p.len()).collect();
        let mut out = Vec::new();
        for (j, &c) in t.iter().enumerate() {
            let mut cur = vec![if anchored { j + 1 } else { 0 }; p.len() + 1];
            for i in 1..=p.len() {
                let sub = prev[i - 1] + usize::from(p[i - 1] != c);
                cur[i] = sub.min(prev[i] + 1).min(cur[i - 1] + 1);
            }
            out.push(cur[p.len()]);
            prev = cur;
        }
        out
    }

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn bit_parallel_matches_naive_dp() {
        let alphabet: Vec<char> = "abcé中🇨 ".chars().collect();
        let mut seed = 7u64;
        for round in 0..300 {
            let plen = 1 + (lcg(&mut seed) as usize) % if round % 3 == 0 { 200 } else { 70 };
            let tlen = (lcg(&mut seed) as usize) % 300;
            let mut pick = || alphabet[(lcg(&mut seed) as usize) % alphabet.len()];
            let p: Vec<char> = (0..plen).map(|_| pick()).collect();
            let t: Vec<char> = (0..tlen).map(|_| pick()).collect();
            let bp = BitPattern::new(&p);
            for anchored in [false, true] {
                let mut got = Vec::new();
                bp.scan(t.iter().copied(), anchored, |_, d| {
                    got.push(d);
                    true
                });
                assert_eq!(
                    got,
                    naive_scores(&p, &t, anchored),
                    "round {round} {anchored}"
                );
            }
        }
    }

    #[test]
    fn approx_matches_finds_edited_passage() {
        let text: Vec<char> = "one two the quick brwn fox jumps three".chars().collect();
        let quote: Vec<char> = "the quick brown fox".chars().collect();
        let found = approx_matches(&text, &quote, 4);
        let s: String = text[found[0].0..found[0].1].iter().collect();
        assert_eq!(s, "the quick brwn fox");
        assert_eq!(found[0].2, 1);
    }

    /// Applies the diff's matching blocks and checks they are consistent.
    fn check_diff(old: &str, new: &str) -> Diff {
        let a: Vec<char> = old.chars().collect();
        let b: Vec<char> = new.chars().collect();
        let diff = Diff::compute(&a, &b);
        let mut last = (0, 0);
        for blk in &diff.blocks {
            assert!(
                blk.old >= last.0 && blk.new >= last.1,
                "blocks out of order"
            );
            assert_eq!(a[blk.old..blk.old + blk.len], b[blk.new..blk.new + blk.len]);
            last = (blk.old + blk.len, blk.new + blk.len);
        }
        diff
    }

    #[test]
    fn diff_blocks_are_consistent() {
        let mut seed = 99u64;
        let words = ["the", "cat", " ", "sat", ", ", "中", "🇨🇳", "mat", "\n"];
        for _ in 0..200 {
            let mut gen = |n: usize| -> String {
                (0..n)
                    .map(|_| words[(lcg(&mut seed) as usize) % words.len()])
                    .collect()
            };
            let (x, y, z) = (gen(10), gen(20), gen(10));
            let old = format!("{x}{y}{z}");
            let new = format!("{x}{}{z}", gen(15));
            check_diff(&old, &new);
            check_diff(&y, &z);
        }
        let d = check_diff("abc XYZ def", "abc NEW XYZ def");
        assert_eq!(d.map(4), (8, true));
        assert_eq!(d.matched_in(0, 11), 11);
        let d = check_diff("", "abc");
        assert_eq!(d.map(0), (0, false));
    }

    #[test]
    fn myers_minimal() {
        let a: Vec<u32> = "ABCABBA".chars().map(|c| c as u32).collect();
        let b: Vec<u32> = "CBABAC".chars().map(|c| c as u32).collect();
        let mut budget = usize::MAX;
        let runs = myers_runs(&a, &b, 100, &mut budget).unwrap();
        let matched: usize = runs.iter().map(|r| r.2).sum();
        assert_eq!(matched, 4); // LCS length, D = 5
        let mut budget = usize::MAX;
        assert!(myers_runs(&a, &b, 4, &mut budget).is_none());
    }

    #[test]
    fn stale_selector_on_unchanged_text() {
        let text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota.";
        let good = resolve(text, Some(&TextQuote::new("Delta epsilon zeta")), None).unwrap();
        let r = reanchor(text, text, &good);
        assert_eq!(r.state, AnchorState::Anchored);
        assert_eq!(r.confidence, 1.0);
        assert_eq!(r.selector.as_ref(), Some(&good));
        // Position shifted by 3 (stale): found again at the real place.
        let mut stale = good.clone();
        stale.position.start += 3;
        stale.position.end += 3;
        let r = reanchor(text, text, &stale);
        assert_eq!(r.state, AnchorState::Moved);
        assert_eq!(r.selector.map(|s| s.position), Some(good.position));
        // Position out of range: still found by quote.
        stale.position = pos(500, 400);
        let r = reanchor(text, text, &stale);
        assert_eq!(r.selector.map(|s| s.position), Some(good.position));
        // Quote not in the text at all.
        let mut gone = good.clone();
        gone.quote.exact = "Omega".into();
        assert_eq!(reanchor(text, text, &gone).state, AnchorState::Orphaned);
        gone.quote.exact = String::new();
        assert_eq!(reanchor(text, text, &gone).state, AnchorState::Orphaned);
        // Empty old text.
        assert_eq!(reanchor("", text, &good).state, AnchorState::Moved);
    }
}
