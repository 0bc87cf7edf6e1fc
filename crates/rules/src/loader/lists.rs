//! Textual list expansion.
//!
//! Falco does not parse list references: before a condition is parsed, every
//! occurrence of a list's name delimited by the text's ends, blanks, `(`,
//! `)`, `,` or `=` is replaced by the list's items joined with `, `. So a list
//! can be defined after the rules using it, `ct.name=mylist` works, and a
//! misspelt name silently stays a literal string.

/// A defined list, as the expansion needs it.
#[derive(Debug)]
pub(super) struct ListDef {
    pub name: String,
    pub items: Vec<String>,
    /// Set once any condition or list refers to this list.
    pub used: bool,
}

fn is_delimiter(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '(' | ')' | ',' | '=')
}

/// Wraps a value in double quotes if it holds a space and is not quoted yet.
pub(super) fn quote_if_spaced(value: &str) -> String {
    let quoted = value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')));
    if value.contains(' ') && !quoted {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    }
}

/// Replaces each delimited occurrence of `name`; `None` if there was none.
/// `Err` with the length the text would reach when that is over `max_len`,
/// checked before anything is built.
fn replace_word(
    text: &str,
    name: &str,
    replacement: &str,
    max_len: usize,
) -> Result<Option<String>, usize> {
    let mut spans = Vec::new();
    let mut last = 0;
    for (at, _) in text.match_indices(name) {
        let end = at + name.len();
        let before_ok = text[..at].chars().next_back().is_none_or(is_delimiter);
        let after_ok = text[end..].chars().next().is_none_or(is_delimiter);
        if before_ok && after_ok && at >= last {
            spans.push(at);
            last = end;
        }
    }
    if spans.is_empty() {
        return Ok(None);
    }
    let grown = spans.len().saturating_mul(replacement.len());
    let projected = (text.len() - spans.len() * name.len()).saturating_add(grown);
    if projected > max_len {
        return Err(projected);
    }
    let mut out = String::with_capacity(projected);
    let mut last = 0;
    for at in spans {
        out.push_str(&text[last..at]);
        out.push_str(replacement);
        last = at + name.len();
    }
    out.push_str(&text[last..]);
    Ok(Some(out))
}

/// Expands every list in `text`, one list at a time in definition order
/// (so a list name left in an earlier list's items is expanded by a later
/// pass, as Falco does), marking the lists found as used.
///
/// # Errors
///
/// The length the text would reach when it would exceed `max_len`.
pub(super) fn expand(text: &str, lists: &mut [ListDef], max_len: usize) -> Result<String, usize> {
    let mut out = text.to_owned();
    for list in lists.iter_mut() {
        if list.name.is_empty() {
            continue;
        }
        let items: Vec<String> = list.items.iter().map(|i| quote_if_spaced(i)).collect();
        if let Some(replaced) = replace_word(&out, &list.name, &items.join(", "), max_len)? {
            out = replaced;
            list.used = true;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(defs: &[(&str, &[&str])]) -> Vec<ListDef> {
        defs.iter()
            .map(|(name, items)| ListDef {
                name: name.to_string(),
                items: items.iter().map(|s| s.to_string()).collect(),
                used: false,
            })
            .collect()
    }

    #[test]
    fn replaces_only_delimited_names() {
        let mut l = lists(&[("regions", &["us-east-1", "eu west"]), ("unused", &[])]);
        let out = expand(
            "ct.region in (regions) and x=regions and regions_x = 1",
            &mut l,
            usize::MAX,
        )
        .unwrap();
        assert_eq!(
            out,
            "ct.region in (us-east-1, \"eu west\") and x=us-east-1, \"eu west\" and regions_x = 1"
        );
        assert!(l[0].used);
        assert!(!l[1].used);
    }

    #[test]
    fn expansion_past_the_limit_is_refused_before_it_is_built() {
        let mut l = lists(&[("big", &["aaaaaaaaaa"; 10])]);
        let text = "ct.name in (big) or ct.src in (big)";
        assert_eq!(expand(text, &mut l, 1000).unwrap().len(), 265);
        assert_eq!(expand(text, &mut l, 100), Err(265));
    }

    #[test]
    fn quoting_keeps_existing_quotes() {
        assert_eq!(quote_if_spaced("a b"), "\"a b\"");
        assert_eq!(quote_if_spaced("'a b'"), "'a b'");
        assert_eq!(quote_if_spaced("ab"), "ab");
    }
}
