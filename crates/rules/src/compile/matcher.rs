//! String comparisons shared by literal and field-to-field checks.

use crate::ast::Op;

/// Applies a string operator to an extracted value and a right side.
///
/// `<`, `<=`, `>`, `>=` compare bytes lexicographically, as libsinsp does for
/// string fields. `in` and `intersects` between two single strings mean
/// equality. Operators that need precompiled state (`regex`) or sets are
/// handled by the caller and give `false` here.
pub(crate) fn compare_text(op: Op, value: &str, rhs: &str) -> bool {
    match op {
        Op::Eq | Op::In | Op::Intersects => value == rhs,
        Op::Ne => value != rhs,
        Op::Lt => value < rhs,
        Op::Le => value <= rhs,
        Op::Gt => value > rhs,
        Op::Ge => value >= rhs,
        Op::Contains => value.contains(rhs),
        Op::IContains => icontains(value, rhs),
        Op::StartsWith => value.starts_with(rhs),
        Op::EndsWith => value.ends_with(rhs),
        Op::Glob => glob_match(rhs, value, false),
        Op::IGlob => glob_match(rhs, value, true),
        Op::Exists | Op::BContains | Op::BStartsWith | Op::Regex | Op::PMatch => false,
    }
}

/// Case-insensitive substring test, folding ASCII letters only (as libsinsp).
pub(crate) fn icontains(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return true;
    }
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Path-prefix match: `value` equals `path` or lies below it, compared per
/// `/` component (`/etc` matches `/etc/passwd` but not `/etcetera`).
pub(crate) fn path_match(path: &str, value: &str) -> bool {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return value.starts_with('/');
    }
    match value.strip_prefix(trimmed) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// fnmatch-style matching without flags: `*` matches any run of characters
/// (including `/`), `?` any one character, `[...]` a class (`!` or `^`
/// negates, `a-z` ranges), and a backslash makes the next character literal.
pub(crate) fn glob_match(pattern: &str, text: &str, fold_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| {
        if fold_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };

    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and how much text it has swallowed so far.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => match class_match(&p, pi, t[ti], fold_case) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                // An unterminated class is a literal `[`.
                None => same('[', t[ti]).then_some(pi + 1),
            },
            Some('\\') if pi + 1 < p.len() => same(p[pi + 1], t[ti]).then_some(pi + 2),
            Some(c) => same(*c, t[ti]).then_some(pi + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                pi = next;
                ti += 1;
            }
            (None, Some((sp, st))) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`.
///
/// Returns whether it matched and the index after the closing `]`, or
/// `None` when the class is not closed.
fn class_match(p: &[char], start: usize, c: char, fold_case: bool) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let fold = |x: char| {
        if fold_case { x.to_ascii_lowercase() } else { x }
    };
    let c = fold(c);
    let mut matched = false;
    let mut first = true;
    loop {
        let mut lo = *p.get(i)?;
        if lo == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if lo == '\\' {
            i += 1;
            lo = *p.get(i)?;
        }
        i += 1;
        let is_range = p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|h| *h != ']');
        if is_range {
            let mut hi = p[i + 1];
            i += 2;
            if hi == '\\' {
                hi = *p.get(i)?;
                i += 1;
            }
            matched |= fold(lo) <= c && c <= fold(hi);
        } else {
            matched |= fold(lo) == c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_semantics() {
        assert!(glob_match("*Bucket*", "PutBucketAcl", false));
        assert!(glob_match("a*c", "a/b/c", false));
        assert!(glob_match("a?c", "abc", false));
        assert!(!glob_match("a?c", "ac", false));
        assert!(glob_match("[a-c]x", "bx", false));
        assert!(!glob_match("[!a-c]x", "bx", false));
        assert!(glob_match("[]]", "]", false));
        assert!(glob_match("a\\*", "a*", false));
        assert!(!glob_match("a\\*", "ab", false));
        assert!(glob_match("[abc", "[abc", false));
        assert!(glob_match("GET*", "getobject", true));
        assert!(!glob_match("GET*", "getobject", false));
        assert!(glob_match("", "", false));
        assert!(!glob_match("", "x", false));
    }

    #[test]
    fn path_prefixes_compare_components() {
        assert!(path_match("/etc", "/etc/passwd"));
        assert!(path_match("/etc/", "/etc"));
        assert!(!path_match("/etc", "/etcetera"));
        assert!(path_match("/", "/anything"));
    }

    #[test]
    fn icontains_folds_ascii() {
        assert!(icontains("AssumeRole", "ROLE"));
        assert!(icontains("x", ""));
        assert!(!icontains("abc", "abcd"));
    }
}
