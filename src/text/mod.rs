//! Pure text logic, with no database and no HTTP: Markdown to safe HTML and to the plain text a
//! reader sees (`body_text`, the text annotations point into).

pub mod anchor;
mod markdown;
pub mod markdown_shapes;
pub mod search;

pub use markdown::{
    attachment_refs, attachment_url, check_structure, escape_html, plain_text, render, sanitize,
    AttachmentRef, Rendered, ATTACHMENT_SCHEME, MAX_ATTACHMENTS, MAX_NESTING,
};

/// Code-point and UTF-16 offsets for many byte offsets into one text (each on a character
/// boundary), in a single pass over the text.
pub fn char_offsets(text: &str, byte_offsets: &[usize]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..byte_offsets.len()).collect();
    order.sort_by_key(|&i| byte_offsets[i]);
    let mut out = vec![(0, 0); byte_offsets.len()];
    let mut chars = text.char_indices().peekable();
    let (mut cp, mut units) = (0usize, 0usize);
    for i in order {
        while let Some(&(at, c)) = chars.peek() {
            if at >= byte_offsets[i] {
                break;
            }
            cp += 1;
            units += c.len_utf16();
            chars.next();
        }
        out[i] = (cp, units);
    }
    out
}

/// UTF-16 offsets for many code-point offsets into one text, in a single pass over the text
/// (offsets past the end map to the text's UTF-16 length).
pub fn utf16_offsets(text: &str, cp_offsets: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cp_offsets.len()).collect();
    order.sort_by_key(|&i| cp_offsets[i]);
    let mut out = vec![0; cp_offsets.len()];
    let mut chars = text.chars();
    let (mut cp, mut units) = (0usize, 0usize);
    for i in order {
        while cp < cp_offsets[i] {
            match chars.next() {
                Some(c) => {
                    units += c.len_utf16();
                    cp += 1;
                }
                None => break,
            }
        }
        out[i] = units;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn utf16_offsets_count_surrogate_pairs() {
        let text = "[🇨🇳] Xi";
        // '[' 1 unit, each regional indicator 2 units, ']' 1, ' ' 1
        assert_eq!(
            super::utf16_offsets(text, &[0, 1, 3, 4, 7, 99]),
            vec![0, 1, 5, 6, 9, 9]
        );
        // the same places as byte offsets ('[' 1 byte, each indicator 4, ']' 1, ' ' 1)
        assert_eq!(
            super::char_offsets(text, &[11, 0, 1, 10, 9, 12]),
            vec![(5, 7), (0, 0), (1, 1), (4, 6), (3, 5), (6, 8)]
        );
    }
}
