//! The heat map of a post: its text cut into segments, each with how many members marked it.

use serde::Serialize;
use utoipa::ToSchema;

/// A stretch of a post's `body_text` and how many members' annotations cover it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"start": 120, "end": 164, "start_utf16": 122, "end_utf16": 166, "count": 3}))]
pub struct HeatSegment {
    /// Start, in code points of `body_text`.
    pub start: usize,
    /// End (exclusive), in code points.
    pub end: usize,
    /// Start in UTF-16 code units (for JavaScript, Swift and Kotlin).
    pub start_utf16: usize,
    /// End in UTF-16 code units.
    pub end_utf16: usize,
    /// Distinct members whose annotations cover this stretch.
    pub count: usize,
}

/// Cuts the marked ranges `(start, end, member)` into disjoint segments with the number of distinct
/// members covering each; adjacent segments with the same members are merged. UTF-16 fields are
/// left 0 for the caller to fill.
pub fn segments(marks: &[(usize, usize, i64)]) -> Vec<HeatSegment> {
    let mut bounds: Vec<usize> = marks.iter().flat_map(|&(s, e, _)| [s, e]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut out: Vec<(HeatSegment, Vec<i64>)> = Vec::new();
    for w in bounds.windows(2) {
        let (s, e) = (w[0], w[1]);
        let mut members: Vec<i64> = marks
            .iter()
            .filter(|&&(ms, me, _)| ms <= s && me >= e && ms < me)
            .map(|&(_, _, m)| m)
            .collect();
        members.sort_unstable();
        members.dedup();
        if members.is_empty() {
            continue;
        }
        if let Some((last, last_members)) = out.last_mut() {
            if last.end == s && *last_members == members {
                last.end = e;
                continue;
            }
        }
        out.push((
            HeatSegment {
                start: s,
                end: e,
                start_utf16: 0,
                end_utf16: 0,
                count: members.len(),
            },
            members,
        ));
    }
    out.into_iter().map(|(s, _)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(v: Vec<HeatSegment>) -> Vec<(usize, usize, usize)> {
        v.into_iter().map(|s| (s.start, s.end, s.count)).collect()
    }

    #[test]
    fn overlapping_marks_are_cut_into_counted_segments() {
        let marks = [(0, 10, 1), (5, 15, 2), (5, 10, 1), (20, 25, 3)];
        assert_eq!(
            plain(segments(&marks)),
            vec![(0, 5, 1), (5, 10, 2), (10, 15, 1), (20, 25, 1)]
        );
    }

    #[test]
    fn one_member_marking_twice_counts_once() {
        assert_eq!(plain(segments(&[(0, 4, 7), (0, 4, 7)])), vec![(0, 4, 1)]);
        assert!(segments(&[]).is_empty());
    }
}
