//! A tiny JSON writer and a parser for the flat objects this suite writes (string,
//! number and bool values, no nesting). Hand-rolled so the bench package needs no serde:
//! CI compiles it on every `cargo test --workspace`, and that should stay cheap.

use std::collections::BTreeMap;
use std::fmt::Write;

/// A JSON object written field by field, in insertion order.
pub struct Object {
    buf: String,
}

impl Object {
    pub fn new() -> Object {
        Object {
            buf: String::from("{"),
        }
    }

    fn key(&mut self, k: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        quote(&mut self.buf, k);
        self.buf.push(':');
    }

    pub fn str(&mut self, k: &str, v: &str) -> &mut Object {
        self.key(k);
        quote(&mut self.buf, v);
        self
    }

    pub fn num(&mut self, k: &str, v: f64) -> &mut Object {
        self.key(k);
        if v.is_finite() {
            let _ = write!(self.buf, "{v}");
        } else {
            self.buf.push_str("null");
        }
        self
    }

    pub fn bool(&mut self, k: &str, v: bool) -> &mut Object {
        self.key(k);
        self.buf.push_str(if v { "true" } else { "false" });
        self
    }

    /// Inserts already-encoded JSON (an array or object) as the value of `k`.
    pub fn raw(&mut self, k: &str, json: &str) -> &mut Object {
        self.key(k);
        self.buf.push_str(json);
        self
    }

    pub fn finish(&mut self) -> String {
        let mut s = std::mem::take(&mut self.buf);
        s.push('}');
        s
    }
}

fn quote(buf: &mut String, s: &str) {
    buf.push('"');
    for c in s.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(buf, "\\u{:04x}", c as u32);
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
}

/// A value of a flat object.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// Parses one flat object (`{"k": "v", "n": 1.5, "b": true}`); `None` if it is not one.
pub fn parse_flat(line: &str) -> Option<BTreeMap<String, Value>> {
    let mut p = line.trim().strip_prefix('{')?.trim_start();
    let mut map = BTreeMap::new();
    if let Some(rest) = p.strip_prefix('}') {
        return rest.trim().is_empty().then_some(map);
    }
    loop {
        let (key, rest) = parse_str(p)?;
        p = rest.trim_start().strip_prefix(':')?.trim_start();
        let (value, rest) = if p.starts_with('"') {
            let (s, rest) = parse_str(p)?;
            (Value::Str(s), rest)
        } else {
            let end = p.find([',', '}']).unwrap_or(p.len());
            let tok = p[..end].trim();
            let v = match tok {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => Value::Num(tok.parse().ok()?),
            };
            (v, &p[end..])
        };
        map.insert(key, value);
        p = rest.trim_start();
        if let Some(rest) = p.strip_prefix(',') {
            p = rest.trim_start();
        } else {
            return p.strip_prefix('}')?.trim().is_empty().then_some(map);
        }
    }
}

/// A quoted string at the start of `p`, and what follows it.
fn parse_str(p: &str) -> Option<(String, &str)> {
    let body = p.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|c| c.1)).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}
