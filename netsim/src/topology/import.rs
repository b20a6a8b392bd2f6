//! Topologies from files: GraphML and edge CSV. Node ids name scenario nodes
//! (`7` or `n7`), so a file is checked against the scenario's node count; every error
//! names the line it comes from, and nothing is allocated from an unchecked count.

use std::collections::HashSet;

use super::EdgeKind;
use crate::error::SimError;

/// Bytes a topology file may have at most.
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;

/// A graph read from a file: edges in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileGraph {
    /// (source, target) per edge; for undirected edges the orientation is not yet chosen.
    pub edges: Vec<(u32, u32)>,
    /// Per edge, whether it is directed (source dials target).
    pub directed: Vec<bool>,
    /// Per edge, what it relays (full relay unless the file says otherwise).
    pub kinds: Vec<EdgeKind>,
}

fn err(line: usize, msg: impl std::fmt::Display) -> SimError {
    SimError::Topology(format!("line {line}: {msg}"))
}

/// A node id as files write it: a decimal index, optionally prefixed with `n`.
fn node_id(text: &str, nodes: u32, line: usize) -> Result<u32, SimError> {
    let t = text.trim();
    let digits = t.strip_prefix('n').unwrap_or(t);
    let id: u32 = digits
        .parse()
        .map_err(|_| err(line, format!("node id {t:?} is not a number (or n<number>)")))?;
    if id >= nodes {
        return Err(err(line, format!("node {id} is not in the scenario's {nodes} nodes")));
    }
    Ok(id)
}

/// The kind an edge's optional type field names.
fn edge_kind(field: Option<&str>, line: usize) -> Result<EdgeKind, SimError> {
    match field {
        None => Ok(EdgeKind::FullRelay),
        Some(f) => EdgeKind::parse(f).ok_or_else(|| {
            err(
                line,
                format!("edge type must be full-relay or block-relay-only, not {:?}", f.trim()),
            )
        }),
    }
}

/// Adds an edge after checking it is no self-loop and not seen before.
fn push_edge(
    g: &mut FileGraph,
    seen: &mut HashSet<(u32, u32)>,
    (a, b): (u32, u32),
    directed: bool,
    kind: EdgeKind,
    line: usize,
) -> Result<(), SimError> {
    if a == b {
        return Err(err(line, format!("self-loop on node {a}")));
    }
    if !seen.insert((a.min(b), a.max(b))) {
        return Err(err(line, format!("duplicate edge {a}-{b}")));
    }
    g.edges.push((a, b));
    g.directed.push(directed);
    g.kinds.push(kind);
    Ok(())
}

/// Parses an edge list: `a,b` or `a,b,type` per line (`a` dials `b`; `type` is
/// `full-relay`, the default, or `block-relay-only`), `#` starts a comment.
pub fn parse_edge_csv(text: &str, nodes: u32) -> Result<FileGraph, SimError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(SimError::Topology(format!("file larger than {MAX_FILE_BYTES} bytes")));
    }
    let mut g = FileGraph {
        edges: Vec::new(),
        directed: Vec::new(),
        kinds: Vec::new(),
    };
    let mut seen = HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let body = raw.split('#').next().unwrap_or("").trim();
        if body.is_empty() {
            continue;
        }
        let mut fields = body.split(',');
        let (Some(a), Some(b), kind, None) = (fields.next(), fields.next(), fields.next(), fields.next()) else {
            return Err(err(line, format!("expected `a,b` or `a,b,type`, got {body:?}")));
        };
        let (a, b) = (node_id(a, nodes, line)?, node_id(b, nodes, line)?);
        let kind = edge_kind(kind, line)?;
        push_edge(&mut g, &mut seen, (a, b), true, kind, line)?;
    }
    Ok(g)
}

/// One start or empty-element tag: its name and attributes.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
    closing: bool,
    empty: bool,
    line: usize,
}

impl Tag {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Replaces XML's predefined and numeric character references.
fn unescape(s: &str, line: usize) -> Result<String, SimError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let semi = tail
            .find(';')
            .ok_or_else(|| err(line, "unterminated character reference"))?;
        let name = &tail[1..semi];
        let c = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| err(line, format!("unknown character reference &{name};")))?
            }
        };
        out.push(c);
        rest = &tail[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The tags of an XML document, in order; text, comments, processing instructions and
/// declarations are skipped. Enough XML for GraphML, not a validating parser.
fn tags(text: &str) -> Result<Vec<Tag>, SimError> {
    let mut out = Vec::new();
    let mut pos = 0;
    let line_at = |p: usize| text[..p].bytes().filter(|&b| b == b'\n').count() + 1;
    while let Some(off) = text[pos..].find('<') {
        let start = pos + off;
        let rest = &text[start..];
        let skip_to = |end: &str| {
            rest.find(end)
                .map(|e| start + e + end.len())
                .ok_or_else(|| err(line_at(start), format!("unterminated markup, expected {end:?}")))
        };
        if rest.starts_with("<!--") {
            pos = skip_to("-->")?;
            continue;
        }
        if rest.starts_with("<![CDATA[") {
            pos = skip_to("]]>")?;
            continue;
        }
        if rest.starts_with("<?") {
            pos = skip_to("?>")?;
            continue;
        }
        if rest.starts_with("<!") {
            pos = skip_to(">")?;
            continue;
        }
        let line = line_at(start);
        // Find the closing '>' outside quoted attribute values.
        let mut quote = None;
        let mut end = None;
        for (i, c) in rest.char_indices().skip(1) {
            match (quote, c) {
                (_, '<') => return Err(err(line, "'<' inside a tag")),
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '>') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or_else(|| err(line, "unterminated tag"))?;
        let mut inner = &rest[1..end];
        pos = start + end + 1;
        let closing = inner.starts_with('/');
        if closing {
            inner = &inner[1..];
        }
        let empty = inner.ends_with('/');
        let inner = inner.strip_suffix('/').unwrap_or(inner);
        let name_end = inner.find(|c: char| c.is_whitespace()).unwrap_or(inner.len());
        let name = inner[..name_end].to_string();
        if name.is_empty() {
            return Err(err(line, "tag without a name"));
        }
        let mut attrs = Vec::new();
        let mut a = inner[name_end..].trim_start();
        while !a.is_empty() {
            let eq = a
                .find('=')
                .ok_or_else(|| err(line, format!("attribute without a value in <{name}>")))?;
            let key = a[..eq].trim().to_string();
            let v = a[eq + 1..].trim_start();
            let q = v.chars().next().filter(|c| *c == '"' || *c == '\'');
            let q = q.ok_or_else(|| err(line, format!("unquoted attribute {key:?} in <{name}>")))?;
            let close = v[1..]
                .find(q)
                .ok_or_else(|| err(line, "unterminated attribute value"))?;
            attrs.push((key, unescape(&v[1..1 + close], line)?));
            a = v[close + 2..].trim_start();
        }
        out.push(Tag {
            name,
            attrs,
            closing,
            empty,
            line,
        });
    }
    Ok(out)
}

/// Checks that `text` is one well-formed element tree: tags parse and nest, one root.
pub fn check_well_formed(text: &str) -> Result<(), SimError> {
    let mut open: Vec<Tag> = Vec::new();
    let mut roots = 0;
    for t in tags(text)? {
        if t.closing {
            let top = open
                .pop()
                .ok_or_else(|| err(t.line, format!("</{}> closes nothing", t.name)))?;
            if top.name != t.name {
                return Err(err(t.line, format!("</{}> closes <{}>", t.name, top.name)));
            }
            continue;
        }
        if open.is_empty() {
            roots += 1;
        }
        if !t.empty {
            open.push(t);
        }
    }
    if let Some(t) = open.pop() {
        return Err(err(t.line, format!("<{}> is never closed", t.name)));
    }
    if roots != 1 {
        return Err(SimError::Topology(format!("{roots} root elements, not 1")));
    }
    Ok(())
}

/// Parses GraphML: `<node id>` and `<edge source target [directed] [type]>` elements
/// of one `<graph>`, whose `edgedefault` says whether edges are directed. A directed
/// edge's source dials its target; undirected edges get a dialer later. `type` (an
/// attribute of `<edge>`, netsim's own) is `full-relay`, the default, or
/// `block-relay-only`.
pub fn parse_graphml(text: &str, nodes: u32) -> Result<FileGraph, SimError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(SimError::Topology(format!("file larger than {MAX_FILE_BYTES} bytes")));
    }
    let tags = tags(text)?;
    if !tags.iter().any(|t| t.name == "graphml" && !t.closing) {
        return Err(SimError::Topology("not GraphML: no <graphml> element".into()));
    }
    let mut g = FileGraph {
        edges: Vec::new(),
        directed: Vec::new(),
        kinds: Vec::new(),
    };
    let mut seen = HashSet::new();
    let mut declared = HashSet::new();
    let mut default_directed = None;
    for t in tags.iter().filter(|t| !t.closing) {
        match t.name.as_str() {
            "graph" => {
                if default_directed.is_some() {
                    return Err(err(t.line, "more than one <graph> (nested graphs are not supported)"));
                }
                default_directed = Some(match t.attr("edgedefault") {
                    Some("directed") => true,
                    Some("undirected") => false,
                    other => {
                        return Err(err(
                            t.line,
                            format!("edgedefault must be directed or undirected, not {other:?}"),
                        ))
                    }
                });
            }
            "node" => {
                let id = t.attr("id").ok_or_else(|| err(t.line, "<node> without id"))?;
                declared.insert(node_id(id, nodes, t.line)?);
            }
            "edge" => {
                let Some(dflt) = default_directed else {
                    return Err(err(t.line, "<edge> outside a <graph>"));
                };
                let (Some(s), Some(d)) = (t.attr("source"), t.attr("target")) else {
                    return Err(err(t.line, "<edge> needs source and target"));
                };
                let (a, b) = (node_id(s, nodes, t.line)?, node_id(d, nodes, t.line)?);
                if !declared.contains(&a) || !declared.contains(&b) {
                    return Err(err(t.line, format!("edge {a}-{b} names a node not declared before it")));
                }
                let directed = match t.attr("directed") {
                    None => dflt,
                    Some("true") => true,
                    Some("false") => false,
                    Some(o) => return Err(err(t.line, format!("directed must be true or false, not {o:?}"))),
                };
                let kind = edge_kind(t.attr("type"), t.line)?;
                push_edge(&mut g, &mut seen, (a, b), directed, kind, t.line)?;
            }
            _ => {}
        }
    }
    if default_directed.is_none() {
        return Err(SimError::Topology("GraphML without a <graph> element".into()));
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAPHML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand -->
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="d0" for="node" attr.name="label" attr.type="string"/>
  <graph id="G" edgedefault="undirected">
    <node id="n0"><data key="d0">a &amp; b</data></node>
    <node id="n1"/>
    <node id='2'/>
    <edge source="n0" target="n1"/>
    <edge id="e1" source="2" target="n0" directed="true" type="block-relay-only"/>
  </graph>
</graphml>
"#;

    #[test]
    fn graphml_nodes_and_edges() {
        let g = parse_graphml(GRAPHML, 3).unwrap();
        assert_eq!(g.edges, vec![(0, 1), (2, 0)]);
        assert_eq!(g.directed, vec![false, true]);
        assert_eq!(g.kinds, vec![EdgeKind::FullRelay, EdgeKind::BlockRelayOnly]);
    }

    #[test]
    fn graphml_errors() {
        let bad = |s: &str| parse_graphml(s, 3).unwrap_err().to_string();
        assert!(bad(&GRAPHML.replace("'2'", "'7'")).contains("not in the scenario"));
        assert!(
            bad(&GRAPHML.replace("\"n1\"/>\n", "\"n1\"/>\n<edge source=\"n1\" target=\"n0\"/>")).contains("duplicate")
        );
        assert!(bad(&GRAPHML.replace("target=\"n1\"", "target=\"n0\"")).contains("self-loop"));
        assert!(bad(&GRAPHML.replace("undirected", "sideways")).contains("edgedefault"));
        assert!(bad(&GRAPHML.replace("block-relay-only", "blocks")).contains("edge type"));
        assert!(bad(&GRAPHML.replace("<node id=\"n1\"/>", "")).contains("not declared"));
        assert!(bad(&GRAPHML.replace("source=\"n0\" ", "")).contains("source and target"));
        assert!(
            bad("<graphml><graph edgedefault=\"directed\"><node id=\"x\"/></graph></graphml>").contains("not a number")
        );
        assert!(bad("<graphml><graph edgedefault=\"directed\"><node id=\"0\"").contains("unterminated"));
        assert!(bad("<graphml><!-- never closed").contains("unterminated"));
        assert!(bad("<html></html>").contains("not GraphML"));
        assert!(bad("<graphml>&bogus;</graphml>").contains("GraphML without"));
        assert!(bad("<graphml><graph edgedefault=\"directed\" id=\"&bogus;\">").contains("character reference"));
    }

    #[test]
    fn well_formedness() {
        assert!(check_well_formed(GRAPHML).is_ok());
        assert!(check_well_formed("<a><b></a></b>").is_err());
        assert!(check_well_formed("<a><b/>").is_err());
        assert!(check_well_formed("<a/><b/>").is_err());
        assert!(check_well_formed("<a x=\"1 < 2\"/>").is_err());
    }

    #[test]
    fn edge_csv_with_comments() {
        let g = parse_edge_csv("# a,b\n0,1\n\n 2 , n0  # trailing\n1,2, block-relay-only\n", 3).unwrap();
        assert_eq!(g.edges, vec![(0, 1), (2, 0), (1, 2)]);
        assert!(g.directed.iter().all(|&d| d));
        let full = EdgeKind::FullRelay;
        assert_eq!(g.kinds, vec![full, full, EdgeKind::BlockRelayOnly]);
    }

    #[test]
    fn edge_csv_errors() {
        let bad = |s: &str| parse_edge_csv(s, 3).unwrap_err().to_string();
        assert!(bad("0,1\n0,3\n").starts_with("topology: line 2: node 3"));
        assert!(bad("0,1,2\n").contains("edge type"));
        assert!(bad("0,1,block-relay-only,x\n").contains("expected `a,b`"));
        assert!(bad("0\n").contains("expected `a,b`"));
        assert!(bad("0,-1\n").contains("not a number"));
        assert!(bad("1,1\n").contains("self-loop"));
        assert!(bad("0,1\n1,0\n").contains("duplicate"));
    }
}
