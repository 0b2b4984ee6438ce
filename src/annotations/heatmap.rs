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
/// left 0 for the caller to fill. A sweep over the range ends: O(n log n) in the number of marks.
pub fn segments(marks: &[(usize, usize, i64)]) -> Vec<HeatSegment> {
    let mut events: Vec<(usize, i32, i64)> = marks
        .iter()
        .filter(|&&(s, e, _)| s < e)
        .flat_map(|&(s, e, m)| [(s, 1, m), (e, -1, m)])
        .collect();
    events.sort_unstable();
    let mut active: std::collections::BTreeMap<i64, i32> = std::collections::BTreeMap::new();
    let mut out: Vec<(HeatSegment, Vec<i64>)> = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let pos = events[i].0;
        while i < events.len() && events[i].0 == pos {
            let (_, delta, m) = events[i];
            let n = active.entry(m).or_insert(0);
            *n += delta;
            if *n == 0 {
                active.remove(&m);
            }
            i += 1;
        }
        let Some(&(next, _, _)) = events.get(i) else {
            break;
        };
        if active.is_empty() {
            continue;
        }
        let members: Vec<i64> = active.keys().copied().collect();
        if let Some((last, last_members)) = out.last_mut() {
            if last.end == pos && *last_members == members {
                last.end = next;
                continue;
            }
        }
        out.push((
            HeatSegment {
                start: pos,
                end: next,
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
