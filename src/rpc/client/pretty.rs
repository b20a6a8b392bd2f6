//! JSON text handled as text: finding a reply's `result` and re-indenting it while keeping
//! every number exactly as the server wrote it. `serde_json::Value` would turn Core's
//! `0.00001000` into `1e-5`, and bitcoin-cli prints amounts as sent.

/// Index just past the string whose opening quote is at `start`.
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Index just past the JSON value starting at `start` (no leading whitespace).
fn value_end(b: &[u8], start: usize) -> Option<usize> {
    match *b.get(start)? {
        b'"' => string_end(b, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = string_end(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let len = b[start..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())
                .unwrap_or(b.len() - start);
            (len > 0).then_some(start + len)
        }
    }
}

/// The raw text of member `key` of the top-level object in `text` (the last one if the
/// key repeats, as `serde_json` keeps the last).
pub fn top_level_member<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    let mut found = None;
    loop {
        i = skip_ws(b, i);
        match b.get(i)? {
            b'}' => return found,
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = string_end(b, i)?;
        let name: String = serde_json::from_str(text.get(i..key_end)?).ok()?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let v_start = skip_ws(b, i + 1);
        let v_end = value_end(b, v_start)?;
        if name == key {
            found = Some(text.get(v_start..v_end)?);
        }
        i = v_end;
    }
}

/// Re-indents JSON text with two spaces per level, in the layout of
/// `serde_json::to_string_pretty` (`"key": value`, empty containers as `{}`/`[]`), copying
/// strings and numbers verbatim.
pub fn pretty(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut i = 0;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                let end = string_end(b, i).unwrap_or(b.len());
                out.push_str(text.get(i..end).unwrap_or_default());
                i = end;
                continue;
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                let next = skip_ws(b, i + 1);
                if b.get(next) == Some(&close) {
                    out.push(c as char);
                    out.push(close as char);
                    i = next + 1;
                    continue;
                }
                out.push(c as char);
                depth += 1;
                newline(&mut out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c as char);
            }
            b',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            b':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            _ => {
                // Copy a number or literal (ASCII) up to the next structural byte.
                let end = value_end(b, i).unwrap_or(b.len());
                out.push_str(text.get(i..end).unwrap_or_default());
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_layout_as_serde_and_numbers_kept() {
        let text = r#"{"a":[1,{"b":"x,]\"}"},[],{}],"c":{"d":null,"e":true},"f":""}"#;
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(pretty(text), serde_json::to_string_pretty(&v).unwrap());
        assert_eq!(pretty(r#"{"fee": 0.00001000}"#), "{\n  \"fee\": 0.00001000\n}");
    }

    #[test]
    fn finds_members() {
        let body = r#" {"result" : {"x":[1,2]}, "error":null,"id":1,"result":0.10}"#;
        assert_eq!(top_level_member(body, "result"), Some("0.10"));
        assert_eq!(top_level_member(body, "error"), Some("null"));
        assert_eq!(top_level_member(body, "nope"), None);
        assert_eq!(top_level_member("[1]", "result"), None);
        assert_eq!(top_level_member(r#"{"result":"#, "result"), None);
    }
}
