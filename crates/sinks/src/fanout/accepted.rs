//! A bounded memory of which sinks accepted which batch keys.

use std::collections::{HashMap, HashSet, VecDeque};

/// Batch key to the sinks (by index) that accepted it; the oldest key is
/// forgotten once `capacity` keys are held.
#[derive(Debug)]
pub(super) struct Accepted {
    capacity: usize,
    sinks: HashMap<String, HashSet<usize>>,
    order: VecDeque<String>,
}

impl Accepted {
    pub(super) fn new(capacity: usize) -> Self {
        Accepted {
            capacity: capacity.max(1),
            sinks: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The sinks that accepted `key`, empty when unknown or forgotten.
    pub(super) fn sinks_of(&self, key: &str) -> HashSet<usize> {
        self.sinks.get(key).cloned().unwrap_or_default()
    }

    /// Notes that sink `index` accepted `key`.
    pub(super) fn record(&mut self, key: &str, index: usize) {
        if let Some(sinks) = self.sinks.get_mut(key) {
            sinks.insert(index);
            return;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.sinks.remove(&oldest);
        }
        self.order.push_back(key.to_string());
        self.sinks.insert(key.to_string(), HashSet::from([index]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_sinks_per_key() {
        let mut accepted = Accepted::new(10);
        accepted.record("a", 0);
        accepted.record("a", 2);
        accepted.record("b", 1);
        assert_eq!(accepted.sinks_of("a"), HashSet::from([0, 2]));
        assert_eq!(accepted.sinks_of("b"), HashSet::from([1]));
        assert!(accepted.sinks_of("c").is_empty());
    }

    #[test]
    fn forgets_the_oldest_key_beyond_capacity() {
        let mut accepted = Accepted::new(2);
        accepted.record("a", 0);
        accepted.record("b", 0);
        accepted.record("a", 1);
        accepted.record("c", 0);
        assert!(accepted.sinks_of("a").is_empty());
        assert_eq!(accepted.sinks_of("b"), HashSet::from([0]));
        assert_eq!(accepted.sinks_of("c"), HashSet::from([0]));
        assert_eq!(accepted.order.len(), 2);
    }
}
