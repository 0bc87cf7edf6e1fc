//! Generic `evt.*` fields that Falco offers to every plugin source.
//!
//! The event time is the record's `eventTime`, so times in alerts are
//! CloudTrail times, not the time the record was read.

use chrono::DateTime;

use crate::event::Event;

/// Nanoseconds in a second.
pub(super) const NS_PER_SEC: u64 = 1_000_000_000;

/// The event time in nanoseconds; times before 1970 count as 0.
pub(super) fn time_u64(ev: &Event) -> u64 {
    u64::try_from(ev.time_ns()).unwrap_or(0)
}

/// The event time formatted with a chrono `format` string, in UTC.
///
/// Limitation: Falco formats `evt.time.s`, `evt.datetime` and
/// `evt.datetime.s` in the host's local time zone; we always use UTC, so
/// output only matches Falco on hosts that run in UTC.
pub(super) fn format_time(ev: &Event, format: &str) -> String {
    DateTime::from_timestamp_nanos(ev.time_ns())
        .format(format)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventMeta;

    fn event(time: &str) -> Event {
        let raw = format!(r#"{{"eventTime": "{time}"}}"#);
        let meta = EventMeta {
            num: 1,
            hostname: "h".into(),
        };
        Event::parse(&raw, meta).unwrap()
    }

    #[test]
    fn formats_in_utc_with_nanoseconds() {
        let ev = event("2023-07-10T13:45:01.000000042+02:00");
        assert_eq!(
            format_time(&ev, "%Y-%m-%dT%H:%M:%S%.9fZ"),
            "2023-07-10T11:45:01.000000042Z"
        );
        assert_eq!(format_time(&ev, "%H:%M:%S"), "11:45:01");
        assert_eq!(time_u64(&ev), 1_688_989_501_000_000_042);
    }

    #[test]
    fn times_before_the_epoch_count_as_zero() {
        let ev = event("1969-12-31T23:59:59Z");
        assert_eq!(ev.time_ns(), -1_000_000_000);
        assert_eq!(time_u64(&ev), 0);
    }
}
