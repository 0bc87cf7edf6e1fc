//! Small accessors over saphyr's position-carrying YAML nodes.
//!
//! Scalars are kept as written (saphyr's early parsing is off): Falco reads
//! every value as text, so an account id list item `012345678901` must keep
//! its leading zero instead of becoming an integer.

use saphyr::{MarkedYaml, ScalarStyle, ScanError, YamlData, YamlLoader};
use saphyr_parser::Parser;

use crate::diagnostic::Pos;

pub(super) type Node<'a> = MarkedYaml<'a>;

/// Parses every document of a YAML stream.
pub(super) fn load(text: &str) -> Result<Vec<Node<'_>>, ScanError> {
    let mut parser = Parser::new_from_str(text);
    let mut loader = YamlLoader::<Node<'_>>::default();
    loader.early_parse(false);
    parser.load(&mut loader, true)?;
    if let Some(e) = loader.error() {
        return Err(e.clone());
    }
    Ok(loader.into_documents())
}

/// Where a node starts, 1-based.
pub(super) fn pos(node: &Node<'_>) -> Pos {
    Pos {
        line: node.span.start.line(),
        column: node.span.start.col() + 1,
    }
}

/// Where a scan error happened, 1-based.
pub(super) fn error_pos(e: &ScanError) -> Pos {
    Pos {
        line: e.marker().line(),
        column: e.marker().col() + 1,
    }
}

/// The node behind any tags.
fn untagged<'n, 'a>(node: &'n Node<'a>) -> &'n Node<'a> {
    match &node.data {
        YamlData::Tagged(_, inner) => untagged(inner),
        _ => node,
    }
}

/// Whether the node is a YAML null (`~`, `null`, or nothing at all).
pub(super) fn is_null(node: &Node<'_>) -> bool {
    match &untagged(node).data {
        YamlData::Representation(text, ScalarStyle::Plain, _) => {
            matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL")
        }
        YamlData::Value(saphyr::Scalar::Null) => true,
        _ => false,
    }
}

/// The text of a non-null scalar.
pub(super) fn text(node: &Node<'_>) -> Option<String> {
    if is_null(node) {
        return None;
    }
    match &untagged(node).data {
        YamlData::Representation(text, _, _) => Some(text.to_string()),
        YamlData::Value(scalar) => Some(match scalar {
            saphyr::Scalar::Null => return None,
            saphyr::Scalar::Boolean(b) => b.to_string(),
            saphyr::Scalar::Integer(i) => i.to_string(),
            saphyr::Scalar::FloatingPoint(f) => f.to_string(),
            saphyr::Scalar::String(s) => s.to_string(),
        }),
        _ => None,
    }
}

/// A boolean in any spelling YAML 1.1 or 1.2 allows.
pub(super) fn boolean(node: &Node<'_>) -> Option<bool> {
    let t = text(node)?;
    match t.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" => Some(true),
        "false" | "no" | "off" | "n" => Some(false),
        _ => None,
    }
}

/// The elements of a sequence.
pub(super) fn seq<'n, 'a>(node: &'n Node<'a>) -> Option<&'n [Node<'a>]> {
    match &untagged(node).data {
        YamlData::Sequence(items) => Some(items),
        _ => None,
    }
}

/// The entries of a mapping whose keys are scalars, in document order.
pub(super) fn entries<'n, 'a>(
    node: &'n Node<'a>,
) -> Option<Vec<(String, &'n Node<'a>, &'n Node<'a>)>> {
    match &untagged(node).data {
        YamlData::Mapping(map) => Some(
            map.iter()
                .map(|(k, v)| (text(k).unwrap_or_default(), k, v))
                .collect(),
        ),
        _ => None,
    }
}
