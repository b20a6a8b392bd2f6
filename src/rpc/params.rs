//! Method parameters: positional or named, checked and typed as Core's `RPCHelpMan` does.

use bitcoin::hashes::Hash;
use serde_json::{Map, Value};

use super::error::{code, RpcError};

/// A method's arguments, in the order of its declared names.
#[derive(Debug, Default)]
pub struct Params {
    values: Vec<Option<Value>>,
    names: &'static [&'static str],
}

/// Core's name for a JSON value's type in type errors.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_error(v: &Value, want: &str) -> RpcError {
    RpcError::new(
        code::TYPE_ERROR,
        format!("JSON value of type {} is not of expected type {want}", type_name(v)),
    )
}

impl Params {
    /// Binds `params` (array, object or null) to `names`, as Core's `transformNamedArguments`.
    /// `Err(None)` means a wrong count: the caller answers with the method's help.
    pub fn bind(names: &'static [&'static str], required: usize, params: &Value) -> Result<Params, Option<RpcError>> {
        let values: Vec<Option<Value>> = match params {
            Value::Null => Vec::new(),
            Value::Array(a) => a.iter().map(|v| Some(v.clone())).collect(),
            Value::Object(o) => named(names, o).map_err(Some)?,
            _ => {
                return Err(Some(RpcError::new(
                    code::INVALID_REQUEST,
                    "Params must be an array or object",
                )))
            }
        };
        if values.len() > names.len() {
            return Err(None);
        }
        // A trailing explicit null counts as omitted, as in Core.
        let given = values
            .iter()
            .rposition(|v| v.as_ref().is_some_and(|v| !v.is_null()))
            .map_or(0, |i| i + 1);
        if given < required
            || values
                .iter()
                .take(required)
                .any(|v| v.as_ref().is_none_or(Value::is_null))
        {
            return Err(None);
        }
        Ok(Params { values, names })
    }

    /// The raw value at `i`, `None` when omitted or null.
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.values.get(i).and_then(|v| v.as_ref()).filter(|v| !v.is_null())
    }

    /// The declared name of argument `i`.
    pub fn name(&self, i: usize) -> &'static str {
        self.names.get(i).copied().unwrap_or("")
    }

    /// A string argument.
    pub fn str(&self, i: usize) -> Result<Option<&str>, RpcError> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(type_error(v, "string")),
        }
    }

    /// A required string argument.
    pub fn req_str(&self, i: usize) -> Result<&str, RpcError> {
        self.str(i)?
            .ok_or_else(|| RpcError::invalid_param(format!("Missing required parameter {}", self.name(i))))
    }

    /// An integer argument.
    pub fn int(&self, i: usize) -> Result<Option<i64>, RpcError> {
        match self.get(i) {
            None => Ok(None),
            Some(v @ Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| type_error(v, "number")),
            Some(v) => Err(type_error(v, "number")),
        }
    }

    /// A boolean argument.
    pub fn bool(&self, i: usize) -> Result<Option<bool>, RpcError> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(type_error(v, "bool")),
        }
    }

    /// Core's `ParseVerbosity` with booleans allowed: `true` is 1, `false` 0, omitted `default`.
    pub fn verbosity(&self, i: usize, default: i64) -> Result<i64, RpcError> {
        match self.get(i) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(i64::from(*b)),
            Some(_) => Ok(self.int(i)?.unwrap_or(default)),
        }
    }

    /// A 32-byte hash in Core's byte-reversed hex, with `ParseHashV`'s errors.
    pub fn hash<H: Hash<Bytes = [u8; 32]>>(&self, i: usize) -> Result<Option<H>, RpcError> {
        let Some(s) = self.str(i)? else { return Ok(None) };
        parse_hash(s, self.name(i)).map(Some)
    }

    /// A required 32-byte hash.
    pub fn req_hash<H: Hash<Bytes = [u8; 32]>>(&self, i: usize) -> Result<H, RpcError> {
        self.hash(i)?
            .ok_or_else(|| RpcError::invalid_param(format!("Missing required parameter {}", self.name(i))))
    }
}

/// Parses a hash as Core's `ParseHashV`, naming the parameter in errors.
pub fn parse_hash<H: Hash<Bytes = [u8; 32]>>(s: &str, name: &str) -> Result<H, RpcError> {
    if s.len() != 64 {
        return Err(RpcError::invalid_param(format!(
            "{name} must be of length 64 (not {}, for '{s}')",
            s.len()
        )));
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(s, &mut bytes)
        .map_err(|_| RpcError::invalid_param(format!("{name} must be hexadecimal string (not '{s}')")))?;
    bytes.reverse();
    Ok(H::from_byte_array(bytes))
}

fn named(names: &'static [&'static str], o: &Map<String, Value>) -> Result<Vec<Option<Value>>, RpcError> {
    let mut out: Vec<Option<Value>> = vec![None; names.len()];
    let mut positional: Option<&Vec<Value>> = None;
    for (k, v) in o {
        if k == "args" {
            match v {
                Value::Array(a) => positional = Some(a),
                _ => return Err(RpcError::invalid_param("args must be an array")),
            }
            continue;
        }
        let Some(i) = names.iter().position(|n| n == k) else {
            return Err(RpcError::invalid_param(format!("Unknown named parameter {k}")));
        };
        out[i] = Some(v.clone());
    }
    if let Some(args) = positional {
        if args.len() > names.len() {
            return Err(RpcError::misc("too many positional arguments"));
        }
        for (i, v) in args.iter().enumerate() {
            if out[i].is_some() {
                return Err(RpcError::invalid_param(format!(
                    "Parameter {} specified twice both as positional and named argument",
                    names[i]
                )));
            }
            out[i] = Some(v.clone());
        }
    }
    while out.last().is_some_and(Option::is_none) {
        out.pop();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NAMES: &[&str] = &["blockhash", "verbosity"];

    #[test]
    fn positional_and_named() {
        let p = Params::bind(NAMES, 1, &json!(["00", 2])).unwrap();
        assert_eq!(p.int(1).unwrap(), Some(2));
        let p = Params::bind(NAMES, 1, &json!({"verbosity": 0, "blockhash": "ab"})).unwrap();
        assert_eq!(p.str(0).unwrap(), Some("ab"));
        let p = Params::bind(NAMES, 1, &json!({"args": ["ab"], "verbosity": 1})).unwrap();
        assert_eq!(p.int(1).unwrap(), Some(1));
        assert!(Params::bind(NAMES, 1, &json!([])).unwrap_err().is_none());
        assert!(Params::bind(NAMES, 1, &json!(["a", 1, 2])).unwrap_err().is_none());
        let e = Params::bind(NAMES, 1, &json!({"nope": 1})).unwrap_err().unwrap();
        assert_eq!((e.code, e.message.as_str()), (-8, "Unknown named parameter nope"));
        let e = Params::bind(NAMES, 1, &json!({"args": ["a"], "blockhash": "b"}))
            .unwrap_err()
            .unwrap();
        assert!(e.message.contains("specified twice"));
        let p = Params::bind(NAMES, 1, &json!(["x", "y"])).unwrap();
        assert_eq!(
            p.int(1).unwrap_err().message,
            "JSON value of type string is not of expected type number"
        );
    }

    #[test]
    fn hashes_as_core() {
        let e = parse_hash::<bitcoin::BlockHash>("abc", "blockhash").unwrap_err();
        assert_eq!(e.message, "blockhash must be of length 64 (not 3, for 'abc')");
        let e = parse_hash::<bitcoin::BlockHash>(&"z".repeat(64), "blockhash").unwrap_err();
        assert!(e.message.starts_with("blockhash must be hexadecimal string"));
        let h: bitcoin::BlockHash = parse_hash(&format!("{}01", "0".repeat(62)), "h").unwrap();
        assert_eq!(h.to_string(), format!("{}01", "0".repeat(62)));
    }
}
