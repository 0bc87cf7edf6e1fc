//! Splitting findings into BatchImportFindings requests.
//!
//! Limits from the Security Hub partner guide: at most 100 findings per
//! request, 240 KB per finding and 6 MB per request. KB and MB are taken as
//! 1000-based, the stricter reading.

use super::asff::Finding;

/// Findings per request.
pub(crate) const MAX_FINDINGS: usize = 100;
/// Bytes per finding.
pub(crate) const MAX_FINDING_BYTES: usize = 240_000;
/// Bytes per request body.
pub(crate) const MAX_REQUEST_BYTES: usize = 6_000_000;
/// The request body around the findings: `{"Findings":[` and `]}`.
const ENVELOPE_BYTES: usize = r#"{"Findings":[]}"#.len();

/// Splits `findings` into requests of at most `max_count` findings and
/// [`MAX_REQUEST_BYTES`] bytes, keeping their order. Every finding must
/// already fit [`MAX_FINDING_BYTES`].
pub(crate) fn plan(findings: Vec<Finding>, max_count: usize) -> Vec<Vec<Finding>> {
    let sized = findings.into_iter().map(|f| (f.size(), f));
    split(sized, max_count.clamp(1, MAX_FINDINGS), MAX_REQUEST_BYTES)
}

fn split<T>(
    items: impl Iterator<Item = (usize, T)>,
    max_count: usize,
    max_bytes: usize,
) -> Vec<Vec<T>> {
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut bytes = ENVELOPE_BYTES;
    for (size, item) in items {
        // A comma separates each finding from the one before.
        let cost = size + usize::from(!current.is_empty());
        if !current.is_empty() && (current.len() == max_count || bytes + cost > max_bytes) {
            batches.push(std::mem::take(&mut current));
            bytes = ENVELOPE_BYTES;
        }
        bytes += size + usize::from(!current.is_empty());
        current.push(item);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Priority;
    use crate::testing::alert;

    fn findings(count: usize) -> Vec<Finding> {
        (0..count)
            .map(|i| {
                Finding::from_alert(
                    &alert(&format!("rule {i}"), Priority::Error),
                    "us-east-1",
                    "123456789012",
                )
            })
            .collect()
    }

    fn lens<T>(batches: &[Vec<T>]) -> Vec<usize> {
        batches.iter().map(Vec::len).collect()
    }

    #[test]
    fn exactly_100_findings_make_one_request() {
        assert_eq!(lens(&plan(findings(100), MAX_FINDINGS)), [100]);
    }

    #[test]
    fn findings_101_make_two_requests() {
        assert_eq!(lens(&plan(findings(101), MAX_FINDINGS)), [100, 1]);
    }

    #[test]
    fn configured_batch_size_is_capped_at_the_limit() {
        assert_eq!(lens(&plan(findings(7), 3)), [3, 3, 1]);
        assert_eq!(lens(&plan(findings(150), 1000)), [100, 50]);
    }

    #[test]
    fn request_bytes_split_exactly_at_the_limit() {
        // 30 items of about 200 KB, commas and the envelope, padded so the
        // request is exactly 6,000,000 bytes: one request.
        let mut sizes = vec![199_996; 30];
        let total =
            |sizes: &[usize]| ENVELOPE_BYTES + sizes.iter().sum::<usize>() + sizes.len() - 1;
        sizes[0] += MAX_REQUEST_BYTES - total(&sizes);
        assert_eq!(total(&sizes), MAX_REQUEST_BYTES);
        let one = split(
            sizes.iter().map(|s| (*s, ())),
            MAX_FINDINGS,
            MAX_REQUEST_BYTES,
        );
        assert_eq!(lens(&one), [30]);
        // One byte more and the last finding moves to a second request.
        sizes[0] += 1;
        let two = split(
            sizes.iter().map(|s| (*s, ())),
            MAX_FINDINGS,
            MAX_REQUEST_BYTES,
        );
        assert_eq!(lens(&two), [29, 1]);
    }

    #[test]
    fn real_findings_just_over_6_mb_split() {
        let mut big = findings(26);
        for finding in &mut big {
            // Pads each finding to about 235 KB, under the per-finding limit
            // (more fields than ASFF allows: only the size matters here).
            for k in 0..120 {
                finding
                    .product_fields
                    .insert(format!("pad.{k:03}"), "x".repeat(1_950));
            }
            assert!(finding.size() <= MAX_FINDING_BYTES);
        }
        let total: usize = big.iter().map(Finding::size).sum();
        assert!(total > MAX_REQUEST_BYTES);
        let batches = plan(big, MAX_FINDINGS);
        assert_eq!(batches.len(), 2);
        for batch in &batches {
            let body = serde_json::json!({ "Findings": batch });
            assert!(serde_json::to_vec(&body).unwrap().len() <= MAX_REQUEST_BYTES);
        }
    }
}
