//! Names of the metrics this binary records itself; the library crates
//! declare their own. All carry the `trailwatch_` prefix.

/// Counter: records evaluated against the rules.
pub const RECORDS_EVALUATED: &str = "trailwatch_records_evaluated_total";
/// Counter: records that could not be read or parsed, by `reason`.
pub const RECORD_ERRORS: &str = "trailwatch_record_errors_total";
/// Counter: alerts raised, by `rule` and `priority`.
pub const ALERTS: &str = "trailwatch_alerts_total";
/// Histogram: seconds between a record's eventTime and its evaluation.
pub const EVENT_LAG: &str = "trailwatch_event_lag_seconds";
/// Histogram: seconds between an object's LastModified and its processing.
pub const OBJECT_LAG: &str = "trailwatch_object_lag_seconds";
/// Gauge: enabled rules currently loaded.
pub const RULES_LOADED: &str = "trailwatch_rules_loaded";
/// Counter: rule reloads rejected because the new rules did not load.
pub const RULES_RELOAD_FAILURES: &str = "trailwatch_rules_reload_failures_total";
/// Gauge set to 1, labelled with the `version`.
pub const BUILD_INFO: &str = "trailwatch_build_info";
