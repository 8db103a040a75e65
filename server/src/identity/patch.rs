//! JSON Patch (RFC 6902) for `PATCH /admin/identities/{id}`, with Kratos's rules: only `add`,
//! `remove` and `replace`; some paths may not be patched; `replace` of a missing member adds it,
//! and `add` creates missing parent objects.

use serde_json::{Map, Value};

/// Paths that may not be patched (Kratos: `/id`, `/stateChangedAt`, `/credentials`, and
/// anything below `/credentials/oidc/`).
fn denied(path: &str) -> bool {
    matches!(path, "/id" | "/stateChangedAt" | "/credentials")
        || path.starts_with("/credentials/oidc/")
}

fn tokens(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("invalid JSON pointer: {path:?}"));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn is_element_access(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    !path.is_empty() && (last == "-" || last.parse::<usize>().is_ok())
}

#[derive(Debug)]
struct Op {
    op: String,
    path: String,
    value: Option<Value>,
}

fn parse(body: &[u8]) -> Result<Vec<Op>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("invalid state detected".into());
    }
    let raw: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let Value::Array(items) = raw else {
        return Err("a JSON patch must be an array of operations".into());
    };
    let mut ops = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(mut m) = item else {
            return Err("each JSON patch operation must be an object".into());
        };
        let op = match m.remove("op") {
            Some(Value::String(s)) => s,
            _ => return Err("error parsing patch operations: missing op".into()),
        };
        let path = match m.remove("path") {
            Some(Value::String(s)) => s,
            _ => {
                return Err(format!(
                    "error parsing patch operations: operation {op} has no path"
                ));
            }
        };
        ops.push(Op {
            op,
            path,
            value: m.remove("value"),
        });
    }
    Ok(ops)
}

fn container_for(next: &str) -> Value {
    if next == "-" || next.parse::<usize>().is_ok() {
        Value::Array(Vec::new())
    } else {
        Value::Object(Map::new())
    }
}

/// The parent of the last token, creating missing containers when `create` is set.
fn parent<'a>(
    doc: &'a mut Value,
    toks: &[String],
    create: bool,
    path: &str,
) -> Result<&'a mut Value, String> {
    let mut node = doc;
    for (i, tok) in toks[..toks.len().saturating_sub(1)].iter().enumerate() {
        let next = &toks[i + 1];
        node = match node {
            Value::Object(map) => {
                if !map.contains_key(tok) {
                    if !create {
                        return Err(format!("doc is missing path: {path}"));
                    }
                    map.insert(tok.clone(), container_for(next));
                }
                map.get_mut(tok)
                    .ok_or_else(|| format!("doc is missing path: {path}"))?
            }
            Value::Array(items) => {
                let idx: usize = tok
                    .parse()
                    .map_err(|_| format!("invalid array index {tok:?} in {path}"))?;
                items
                    .get_mut(idx)
                    .ok_or_else(|| format!("doc is missing path: {path}"))?
            }
            _ => return Err(format!("doc is missing path: {path}")),
        };
    }
    Ok(node)
}

fn apply_one(doc: &mut Value, op: &Op) -> Result<(), String> {
    let toks = tokens(&op.path)?;
    let value = || {
        op.value
            .clone()
            .ok_or_else(|| format!("operation {} on {} has no value", op.op, op.path))
    };
    if toks.is_empty() {
        return match op.op.as_str() {
            "add" | "replace" => {
                *doc = value()?;
                Ok(())
            }
            _ => Err("cannot remove the whole document".into()),
        };
    }
    let last = toks[toks.len() - 1].clone();
    match op.op.as_str() {
        "add" => {
            let v = value()?;
            match parent(doc, &toks, true, &op.path)? {
                Value::Object(map) => {
                    map.insert(last, v);
                }
                Value::Array(items) => {
                    if last == "-" {
                        items.push(v);
                    } else {
                        let idx: usize = last
                            .parse()
                            .map_err(|_| format!("invalid array index {last:?} in {}", op.path))?;
                        if idx > items.len() {
                            return Err(format!("index out of bounds in {}", op.path));
                        }
                        items.insert(idx, v);
                    }
                }
                _ => return Err(format!("doc is missing path: {}", op.path)),
            }
        }
        "remove" => match parent(doc, &toks, false, &op.path)? {
            Value::Object(map) => {
                map.remove(&last)
                    .ok_or_else(|| format!("unable to remove nonexistent key: {}", op.path))?;
            }
            Value::Array(items) => {
                let idx: usize = last
                    .parse()
                    .map_err(|_| format!("invalid array index {last:?} in {}", op.path))?;
                if idx >= items.len() {
                    return Err(format!("unable to remove nonexistent index: {}", op.path));
                }
                items.remove(idx);
            }
            _ => return Err(format!("doc is missing path: {}", op.path)),
        },
        "replace" => {
            let v = value()?;
            match parent(doc, &toks, false, &op.path)? {
                Value::Object(map) => match map.get_mut(&last) {
                    Some(slot) => *slot = v,
                    None => return Err(format!("doc is missing key: {}", op.path)),
                },
                Value::Array(items) => {
                    let idx: usize = last
                        .parse()
                        .map_err(|_| format!("invalid array index {last:?} in {}", op.path))?;
                    match items.get_mut(idx) {
                        Some(slot) => *slot = v,
                        None => return Err(format!("index out of bounds in {}", op.path)),
                    }
                }
                _ => return Err(format!("doc is missing path: {}", op.path)),
            }
        }
        other => return Err(format!("unsupported operation: {other}")),
    }
    Ok(())
}

/// Applies `body` (a JSON Patch document) to `doc`. The error text is what Kratos reports as the
/// error message.
pub fn apply(doc: &mut Value, body: &[u8]) -> Result<(), String> {
    let mut ops = parse(body)?;
    for op in &mut ops {
        if !matches!(op.op.as_str(), "add" | "remove" | "replace") {
            return Err(format!("unsupported operation: {}", op.op));
        }
        if denied(&op.path) {
            return Err(format!("patch includes denied path: {}", op.path));
        }
        // Kratos is tolerant: replacing a member that does not exist adds it.
        if op.op == "replace" && !is_element_access(&op.path) {
            op.op = "add".into();
        }
    }
    let mut working = doc.clone();
    for op in &ops {
        apply_one(&mut working, op)?;
    }
    *doc = working;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_with_kratos_rules() {
        let mut doc = json!({"id": "x", "traits": {"a": 1}, "list": [1, 2]});
        apply(
            &mut doc,
            br#"[{"op":"replace","path":"/traits/b","value":2},
                 {"op":"add","path":"/metadata_public/deep/key","value":true},
                 {"op":"replace","path":"/list/0","value":9},
                 {"op":"add","path":"/list/-","value":3},
                 {"op":"remove","path":"/traits/a"}]"#,
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"id": "x", "traits": {"b": 2}, "metadata_public": {"deep": {"key": true}}, "list": [9, 2, 3]})
        );
    }

    #[test]
    fn refuses_what_kratos_refuses() {
        let mut doc = json!({"id": "x", "credentials": {}});
        let cases: [(&[u8], &str); 7] = [
            (br#"[{"op":"replace","path":"/id","value":"y"}]"#, "patch includes denied path: /id"),
            (br#"[{"op":"replace","path":"/credentials","value":1}]"#, "patch includes denied path: /credentials"),
            (
                br#"[{"op":"add","path":"/credentials/oidc/config/providers/0/organization","value":"o"}]"#,
                "patch includes denied path: /credentials/oidc/config/providers/0/organization",
            ),
            (br#"[{"op":"move","from":"/a","path":"/b"}]"#, "unsupported operation: move"),
            (b"", "invalid state detected"),
            (br#"[{"op":"remove","path":"/nope"}]"#, "nonexistent"),
            (br#"[{"op":"replace","path":"/list/3","value":1}]"#, "missing"),
        ];
        for (body, needle) in cases {
            let err = apply(&mut doc, body).unwrap_err();
            assert!(err.contains(needle), "{err} does not contain {needle}");
        }
        assert_eq!(
            doc,
            json!({"id": "x", "credentials": {}}),
            "failed patches change nothing"
        );
        apply(
            &mut doc,
            br#"[{"op":"add","path":"/credentials/password/config","value":{}}]"#,
        )
        .unwrap();
    }
}
