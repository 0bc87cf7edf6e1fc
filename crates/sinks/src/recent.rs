//! A bounded set that forgets its oldest entries: memory of recent work
//! that must not grow with the daemon's uptime.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

/// The last `capacity` distinct values inserted.
#[derive(Debug)]
pub(crate) struct RecentSet<T> {
    capacity: usize,
    members: HashSet<T>,
    order: VecDeque<T>,
}

impl<T: Hash + Eq + Clone> RecentSet<T> {
    /// An empty set holding at most `capacity` values (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        RecentSet {
            capacity: capacity.max(1),
            members: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether `value` was inserted and not yet forgotten.
    pub(crate) fn contains(&self, value: &T) -> bool {
        self.members.contains(value)
    }

    /// Inserts `value`, forgetting the oldest value when full.
    pub(crate) fn insert(&mut self, value: T) {
        if self.members.contains(&value) {
            return;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.members.remove(&oldest);
        }
        self.order.push_back(value.clone());
        self.members.insert(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let mut set = RecentSet::new(2);
        set.insert(1);
        set.insert(2);
        set.insert(2);
        assert!(set.contains(&1) && set.contains(&2));
        set.insert(3);
        assert!(!set.contains(&1));
        assert!(set.contains(&2) && set.contains(&3));
    }
}
