//! Lookups in an indexed text: members, elements and decoded strings.

use std::borrow::Cow;

use super::{Kind, Node};

/// A value of an indexed text: where lookups start and what they return.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JsonRef<'e> {
    text: &'e str,
    nodes: &'e [Node],
    at: usize,
}

impl<'e> JsonRef<'e> {
    /// The top-level value of `text`, which [`scan`](super::scan) indexed
    /// into `nodes` without finding it invalid (so `nodes` is not empty).
    pub(crate) fn root(text: &'e str, nodes: &'e [Node]) -> Self {
        JsonRef { text, nodes, at: 0 }
    }

    fn node(&self) -> &'e Node {
        &self.nodes[self.at]
    }

    fn with(&self, at: usize) -> Self {
        JsonRef { at, ..*self }
    }

    /// What the value is.
    pub(crate) fn kind(&self) -> Kind {
        self.node().kind
    }

    /// The value's text as written, from its first to its last byte.
    pub(crate) fn text(&self) -> &'e str {
        let node = self.node();
        &self.text[node.start as usize..node.end as usize]
    }

    /// The decoded text of a string; `None` for other values.
    pub(crate) fn as_str(&self) -> Option<Cow<'e, str>> {
        if self.kind() != Kind::String {
            return None;
        }
        let quoted = self.text();
        if !self.node().escaped {
            return Some(Cow::Borrowed(&quoted[1..quoted.len() - 1]));
        }
        // The scan checked the escapes (and serde_json the surrogates), so
        // decoding cannot fail.
        serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
    }

    /// Whether this is a string whose decoded text equals `other`.
    pub(crate) fn is_str(&self, other: &str) -> bool {
        if self.kind() != Kind::String {
            return false;
        }
        let quoted = self.text();
        if !self.node().escaped {
            return &quoted[1..quoted.len() - 1] == other;
        }
        self.as_str().is_some_and(|s| s == other)
    }

    /// Member `key` of an object (the first, if the key repeats); `None`
    /// for other values.
    pub(crate) fn get(&self, key: &str) -> Option<Self> {
        // The hottest lookup of all: lengths first, decoding only escaped keys.
        if self.kind() != Kind::Object {
            return None;
        }
        let end = self.node().next as usize;
        let mut at = self.at + 1;
        while at < end {
            let node = &self.nodes[at];
            let (start, stop) = (node.start as usize + 1, node.end as usize - 1);
            let hit = if node.escaped {
                self.with(at).is_str(key)
            } else {
                stop - start == key.len() && &self.text.as_bytes()[start..stop] == key.as_bytes()
            };
            if hit {
                return Some(self.with(at + 1));
            }
            at = self.nodes[at + 1].next as usize;
        }
        None
    }

    /// Element `n` of an array; `None` for other values.
    pub(crate) fn index(&self, n: usize) -> Option<Self> {
        self.elements()?.nth(n)
    }

    /// The elements of an array, in order; `None` for other values.
    pub(crate) fn elements(&self) -> Option<impl Iterator<Item = Self> + use<'e>> {
        if self.kind() != Kind::Array {
            return None;
        }
        let end = self.node().next as usize;
        let mut at = self.at + 1;
        let this = *self;
        Some(std::iter::from_fn(move || {
            if at >= end {
                return None;
            }
            let element = this.with(at);
            at = this.nodes[at].next as usize;
            Some(element)
        }))
    }
}
