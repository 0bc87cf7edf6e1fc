//! Splitting log events into PutLogEvents requests.
//!
//! Limits from the PutLogEvents API reference: at most 10,000 events and
//! 1,048,576 bytes per request, counted as the UTF-8 bytes of each message
//! plus 26 bytes per event; events in timestamp order; one request may not
//! span 24 hours. The event size limit is 1 MB in the current text but
//! 256 KB in older text and some partitions, so we keep to 256 KB.

use crate::alert::Alert;

/// Events per request.
pub(crate) const MAX_EVENTS: usize = 10_000;
/// Bytes per request, overhead included.
pub(crate) const MAX_REQUEST_BYTES: usize = 1_048_576;
/// Bytes counted for each event on top of its message.
pub(crate) const EVENT_OVERHEAD_BYTES: usize = 26;
/// Bytes per event, overhead included.
pub(crate) const MAX_EVENT_BYTES: usize = 262_144;
/// The span limit; a request's events must be closer together than this.
pub(crate) const MAX_SPAN_MS: i64 = 24 * 60 * 60 * 1000;

/// One log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogEvent {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The Falco JSON line.
    pub message: String,
}

impl LogEvent {
    fn cost(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD_BYTES
    }
}

/// Sorts `events` by timestamp (stable, so equal times keep alert order)
/// and splits them into requests of at most `max_events`.
pub(crate) fn plan(mut events: Vec<LogEvent>, max_events: usize) -> Vec<Vec<LogEvent>> {
    let max_events = max_events.clamp(1, MAX_EVENTS);
    events.sort_by_key(|e| e.timestamp_ms);
    let mut batches = Vec::new();
    let mut current: Vec<LogEvent> = Vec::new();
    let mut bytes = 0;
    for event in events {
        let full = current.len() == max_events
            || bytes + event.cost() > MAX_REQUEST_BYTES
            || current
                .first()
                .is_some_and(|first| event.timestamp_ms - first.timestamp_ms >= MAX_SPAN_MS);
        if full {
            batches.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += event.cost();
        current.push(event);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// The alert's Falco JSON line, made to fit one log event. An oversized
/// alert keeps its shape (still valid JSON) with its longest strings cut:
/// first the `output_fields` values and `output` to 4096 characters, then
/// shorter caps.
pub(crate) fn message(alert: &Alert) -> String {
    let line = alert.to_json_line();
    if line.len() + EVENT_OVERHEAD_BYTES <= MAX_EVENT_BYTES {
        return line;
    }
    for cap in [4096, 1024, 256, 64] {
        let mut smaller = alert.clone();
        smaller.output = cut(&smaller.output, cap);
        for value in smaller.output_fields.values_mut() {
            if let serde_json::Value::String(s) = value {
                *s = cut(s, cap);
            }
        }
        let line = smaller.to_json_line();
        if line.len() + EVENT_OVERHEAD_BYTES <= MAX_EVENT_BYTES {
            let rule = &alert.rule;
            tracing::warn!(
                sink = "cloudwatch",
                rule,
                cap,
                "alert shortened to fit a log event"
            );
            return line;
        }
    }
    // Limitation: an alert that is still too large (thousands of fields)
    // is cut mid-JSON; the event is kept, but no longer parses.
    tracing::warn!(sink = "cloudwatch", rule = %alert.rule, "alert cut to fit a log event");
    let mut end = MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].to_string()
}

fn cut(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Priority;
    use crate::testing::alert;

    fn events(count: usize, message_len: usize) -> Vec<LogEvent> {
        (0..count)
            .map(|i| LogEvent {
                timestamp_ms: i as i64,
                message: "m".repeat(message_len),
            })
            .collect()
    }

    fn lens(batches: &[Vec<LogEvent>]) -> Vec<usize> {
        batches.iter().map(Vec::len).collect()
    }

    #[test]
    fn ten_thousand_events_fit_one_request() {
        assert_eq!(lens(&plan(events(10_000, 10), MAX_EVENTS)), [10_000]);
    }

    #[test]
    fn ten_thousand_and_one_events_make_two() {
        assert_eq!(lens(&plan(events(10_001, 10), MAX_EVENTS)), [10_000, 1]);
        assert_eq!(lens(&plan(events(5, 10), 2)), [2, 2, 1]);
    }

    #[test]
    fn byte_limit_counts_26_bytes_per_event() {
        // 1024 events of 998 bytes + 26 overhead = 1024 * 1024 bytes: exactly the limit.
        assert_eq!(lens(&plan(events(1024, 998), MAX_EVENTS)), [1024]);
        // One byte more per message and the last event no longer fits.
        assert_eq!(lens(&plan(events(1024, 999), MAX_EVENTS)), [1023, 1]);
        // Counting multi-byte characters as bytes, not characters.
        let wide: Vec<LogEvent> = (0..2)
            .map(|i| LogEvent {
                timestamp_ms: i,
                message: "é".repeat(300_000),
            })
            .collect();
        assert_eq!(lens(&plan(wide, MAX_EVENTS)), [1, 1]);
    }

    #[test]
    fn a_24_hour_span_splits() {
        let at = |ms| LogEvent {
            timestamp_ms: ms,
            message: "m".into(),
        };
        let within = plan(vec![at(0), at(MAX_SPAN_MS - 1)], MAX_EVENTS);
        assert_eq!(lens(&within), [2]);
        let spanning = plan(
            vec![at(MAX_SPAN_MS), at(0), at(MAX_SPAN_MS + 5)],
            MAX_EVENTS,
        );
        assert_eq!(lens(&spanning), [1, 2]);
        assert_eq!(spanning[0][0].timestamp_ms, 0);
    }

    #[test]
    fn events_are_sorted_by_timestamp() {
        let mut input = events(5, 1);
        input.reverse();
        let batches = plan(input, MAX_EVENTS);
        let times: Vec<i64> = batches[0].iter().map(|e| e.timestamp_ms).collect();
        assert_eq!(times, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn oversized_alert_is_shortened_but_stays_json() {
        let mut a = alert("R", Priority::Error);
        a.output = "o".repeat(300_000);
        a.output_fields
            .insert("big".into(), "x".repeat(300_000).into());
        let line = message(&a);
        assert!(line.len() + EVENT_OVERHEAD_BYTES <= MAX_EVENT_BYTES);
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["rule"], "R");
        assert_eq!(parsed["output_fields"]["big"].as_str().unwrap().len(), 4096);
        assert_eq!(
            message(&alert("S", Priority::Error)),
            alert("S", Priority::Error).to_json_line()
        );
    }
}
