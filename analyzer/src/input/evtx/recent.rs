//! A short list looked up by key, the last one found first ([`Recent`]): what a chunk holds
//! a few of (its template definitions, the walk's plans for them), each record naming one.

/// Values by key, in the order first put; a lookup tries the last one found before the
/// others. Linear: a chunk holds a few, and as many at most as it holds records.
#[derive(Debug)]
pub(super) struct Recent<K, V> {
    items: Vec<(K, V)>,
    last: usize,
}

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent {
            items: Vec::new(),
            last: 0,
        }
    }
}

impl<K: PartialEq, V> Recent<K, V> {
    /// Where `key`'s value is (then the last one found), or `None`.
    pub(super) fn position(&mut self, key: &K) -> Option<usize> {
        let at = match self.items.get(self.last) {
            Some((k, _)) if k == key => Some(self.last),
            _ => self.items.iter().position(|(k, _)| k == key),
        }?;
        self.last = at;
        Some(at)
    }

    /// Puts `value` under `key` (not yet there) and says where: the last one found.
    pub(super) fn push(&mut self, key: K, value: V) -> usize {
        self.items.push((key, value));
        self.last = self.items.len() - 1;
        self.last
    }

    /// The value at `at` ([`Recent::position`], [`Recent::push`]).
    pub(super) fn value(&self, at: usize) -> Option<&V> {
        self.items.get(at).map(|(_, v)| v)
    }

    /// `key`'s value, without making it the last one found.
    pub(super) fn peek(&self, key: &K) -> Option<&V> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(super) fn clear(&mut self) {
        self.items.clear();
    }
}
