//! A bounded memory of a pure function's results, shared between threads.
//!
//! The loaded pack answers the same small questions again and again: which word an unknown
//! word is a typo of, when a calendar's day opens and closes in UTC. The answers depend only
//! on the pack, so remembering them changes no decision; [`Memo`] keeps them. It holds at most
//! its capacity and, when full, forgets everything and starts again: simpler than
//! least-recently-used, and the frequent keys are back at once.
//!
//! A memo belongs to the value it serves and is never part of its identity: a clone starts
//! empty, and two memos are always equal, so `Clone` and `PartialEq` on the owner mean what
//! they meant without it.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Results of a pure function by key; see the module documentation.
pub struct Memo<K, V> {
    map: Mutex<HashMap<K, V>>,
    capacity: usize,
}

impl<K: Hash + Eq, V> Memo<K, V> {
    /// An empty memo that holds at most `capacity` results.
    pub fn new(capacity: usize) -> Memo<K, V> {
        Memo {
            map: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// `read` of the result for `key`: the remembered one, or else the one `make` computes
    /// (outside the lock), which is then remembered.
    pub fn get<Q, R>(&self, key: &Q, make: impl FnOnce() -> V, read: impl FnOnce(&V) -> R) -> R
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(v) = self.lock().get(key) {
            return read(v);
        }
        let v = make();
        let r = read(&v);
        let mut map = self.lock();
        if map.len() >= self.capacity {
            map.clear();
        }
        map.insert(key.to_owned(), v);
        r
    }

    /// How many results are remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, V>> {
        // A poisoned lock means a thread panicked between two statements that leave the map
        // whole either way.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<K, V> Clone for Memo<K, V> {
    fn clone(&self) -> Self {
        Memo {
            map: Mutex::new(HashMap::new()),
            capacity: self.capacity,
        }
    }
}

impl<K, V> PartialEq for Memo<K, V> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<K, V> std::fmt::Debug for Memo<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.map.lock().map_or(0, |m| m.len());
        write!(f, "Memo({n} of {})", self.capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn remembers_until_full_then_starts_again() {
        let memo: Memo<String, usize> = Memo::new(3);
        let calls = Cell::new(0);
        let len = |s: &str| {
            memo.get(
                s,
                || {
                    calls.set(calls.get() + 1);
                    s.len()
                },
                |n| *n,
            )
        };
        assert_eq!(len("ab"), 2);
        assert_eq!(len("ab"), 2);
        assert_eq!(calls.get(), 1, "the second answer was remembered");
        len("abc");
        len("abcd");
        assert_eq!(memo.len(), 3);
        len("abcde");
        assert_eq!(memo.len(), 1, "full: forgotten, then the new one kept");
        assert_eq!(len("ab"), 2);
        assert_eq!(calls.get(), 5, "forgotten answers are computed again");
    }

    #[test]
    fn a_clone_starts_empty_and_equals_its_original() {
        let memo: Memo<u32, u32> = Memo::new(8);
        memo.get(&1, || 10, |v| *v);
        let copy = memo.clone();
        assert!(copy.is_empty());
        assert!(memo == copy);
    }
}
