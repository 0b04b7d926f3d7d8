//! A small, strict JSON reader and writer for request and response bodies.
//!
//! Why not serde_json: the component must stay small (the size budget is 500 KB), numbers
//! must be parsed exactly as the CLI parses CSV cells (`str::parse::<f64>`, correctly
//! rounded) so that HTTP answers equal the CLI's bit for bit, and Python clients send the
//! non-standard tokens `NaN`, `Infinity` and `-Infinity` (`json.dumps` does by default),
//! which must reach validation as numbers so the answer names the field, not the byte.
//! Objects keep their key order and duplicates, so validation can refuse a duplicated key.

use std::fmt::Write as _;

use edgewood_core::float_text;

/// Deepest nesting of arrays and objects accepted; deeper input is refused, never
/// recursed into (a body of 100,000 `[` must not overflow the stack).
pub const MAX_DEPTH: usize = 64;

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, parsed to the nearest f64; ±infinity when it overflows (e.g. `1e400`)
    /// or when written `Infinity`, NaN when written `NaN`.
    Num(f64),
    /// An integer, for answers only (counts, shapes, statuses): the reader never
    /// produces it.
    Int(i64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in document order (duplicates kept).
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// The JSON type name of this value, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Num(_) | Json::Int(_) => "number",
            Json::Str(_) => "string",
            Json::Arr(_) => "array",
            Json::Obj(_) => "object",
        }
    }

    /// The value of `key` in an object (the first, if duplicated).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Why a body is not JSON: what, and at which byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong there.
    pub message: &'static str,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole document: one value, surrounded only by whitespace.
pub fn parse(bytes: &[u8]) -> Result<Json, ParseError> {
    let mut p = Parser { s: bytes, i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != bytes.len() {
        return Err(p.err("unexpected data after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, message: &'static str) -> ParseError {
        ParseError {
            offset: self.i,
            message,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &[u8]) -> bool {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, ParseError> {
        match self.s.get(self.i) {
            None => Err(self.err("unexpected end of input, expecting a value")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'N') if self.eat(b"NaN") => Ok(Json::Num(f64::NAN)),
            Some(b'I') if self.eat(b"Infinity") => Ok(Json::Num(f64::INFINITY)),
            Some(b't') if self.eat(b"true") => Ok(Json::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Json::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Json::Null),
            Some(_) => Err(self.err("expecting a value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting deeper than 64 levels"));
        }
        self.i += 1;
        let mut pairs = Vec::new();
        self.ws();
        if self.eat(b"}") {
            return Ok(Json::Obj(pairs));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.err("expecting a property name in double quotes"));
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(b":") {
                return Err(self.err("expecting ':' after a property name"));
            }
            self.ws();
            let v = self.value(depth)?;
            pairs.push((key, v));
            self.ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"}") {
                return Ok(Json::Obj(pairs));
            }
            return Err(self.err("expecting ',' or '}' in an object"));
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting deeper than 64 levels"));
        }
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat(b"]") {
            return Ok(Json::Arr(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"]") {
                return Ok(Json::Arr(items));
            }
            return Err(self.err("expecting ',' or ']' in an array"));
        }
    }

    fn number(&mut self) -> Result<Json, ParseError> {
        let start = self.i;
        if self.eat(b"-") && self.eat(b"Infinity") {
            return Ok(Json::Num(f64::NEG_INFINITY));
        }
        let digits = |p: &mut Self| {
            let from = p.i;
            while let Some(b'0'..=b'9') = p.s.get(p.i) {
                p.i += 1;
            }
            p.i - from
        };
        let int_start = self.i;
        let n = digits(self);
        if n == 0 {
            return Err(self.err("expecting a digit"));
        }
        if n > 1 && self.s[int_start] == b'0' {
            return Err(ParseError {
                offset: int_start,
                message: "leading zeros are not allowed",
            });
        }
        if self.eat(b".") && digits(self) == 0 {
            return Err(self.err("expecting a digit after the decimal point"));
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("expecting a digit in the exponent"));
            }
        }
        // The grammar above is a subset of what `f64::from_str` accepts, so this cannot
        // fail; it rounds correctly, exactly as the CLI reads CSV cells.
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("x");
        text.parse::<f64>().map(Json::Num).map_err(|_| ParseError {
            offset: start,
            message: "invalid number",
        })
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.s.get(self.i) {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("invalid \\u escape")),
            };
            v = v * 16 + d as u32;
            self.i += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            match c {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.s.get(self.i) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.eat(b"\\u") {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate in \\u escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code)
                                .ok_or_else(|| self.err("unpaired surrogate in \\u escape"))?
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.err("invalid escape"));
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return Err(self.err("control character in a string")),
                _ => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.err("invalid UTF-8 in a string"))
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `<` escaped so JSON embedded in the /docs page cannot close its script tag.
            '<' => out.push_str("\\u003c"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `x` in the shortest form that reads back to the same f64 (`1.0`, `0.97`,
/// `1e-7`); NaN and infinities, which JSON cannot hold, become `null`.
pub fn write_f64(out: &mut String, x: f64) {
    if x.is_finite() {
        // Rust's `Debug` for f64 is the shortest round-trip representation and always
        // has a `.` or an exponent, like Python's `repr`; `float_text` writes the same
        // text without core's float formatting, which the component cannot afford.
        let _ = float_text::write(out, x, true);
    } else {
        out.push_str("null");
    }
}

impl Json {
    /// Appends this value as compact JSON.
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(x) => write_f64(out, *x),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Str(s) => write_str(out, s),
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// This value as compact JSON.
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// Builds a JSON object: `obj([("a", Json::Num(1.0))])`.
pub fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Json {
    Json::Obj(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

/// A JSON string value.
pub fn s(v: impl Into<String>) -> Json {
    Json::Str(v.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_request() {
        let v = parse(
            br#" {"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2} "#,
        )
        .unwrap();
        assert_eq!(v.get("sepal_length"), Some(&Json::Num(5.1)));
        assert_eq!(v.get("petal_width"), Some(&Json::Num(0.2)));
    }

    #[test]
    fn numbers_parse_like_rust() {
        for t in [
            "0",
            "-0",
            "1e400",
            "-1e400",
            "2.2250738585072011e-308",
            "0.1",
            "123456789012345678901234567890",
            "5e-324",
            "1E+2",
        ] {
            let Json::Num(x) = parse(t.as_bytes()).unwrap() else {
                panic!("{t}")
            };
            assert_eq!(x.to_bits(), t.parse::<f64>().unwrap().to_bits(), "{t}");
        }
    }

    #[test]
    fn python_tokens_are_numbers() {
        assert!(matches!(parse(b"NaN"), Ok(Json::Num(x)) if x.is_nan()));
        assert_eq!(parse(b"-Infinity"), Ok(Json::Num(f64::NEG_INFINITY)));
        assert_eq!(
            parse(b"[Infinity]"),
            Ok(Json::Arr(vec![Json::Num(f64::INFINITY)]))
        );
    }

    #[test]
    fn refuses_bad_documents_with_offsets() {
        let cases: &[(&[u8], usize)] = &[
            (b"", 0),
            (b"{", 1),
            (b"{\"a\":1,}", 7),
            (b"[1,]", 3),
            (b"01", 0),
            (b"1.", 2),
            (b"1e", 2),
            (b"\"abc", 4),
            (b"\"\\x\"", 2),
            (b"{\"a\" 1}", 5),
            (b"tru", 0),
            (b"{} x", 3),
            (b"\"\x01\"", 1),
            (b"\"\\ud800\"", 7),
            (b"\"\xff\"", 3),
        ];
        for (doc, offset) in cases {
            let e = parse(doc).unwrap_err();
            assert_eq!(e.offset, *offset, "{:?}: {e}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion_overflow() {
        let deep = vec![b'['; 100_000];
        assert_eq!(
            parse(&deep).unwrap_err().message,
            "nesting deeper than 64 levels"
        );
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(parse(ok.as_bytes()).is_ok());
        let too = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert!(parse(too.as_bytes()).is_err());
    }

    #[test]
    fn strings_round_trip() {
        let v = parse(br#""a\"b\\c\n\u00e9\ud83d\ude00<""#).unwrap();
        assert_eq!(v, Json::Str("a\"b\\c\n\u{e9}\u{1f600}<".into()));
        assert_eq!(v.to_json(), "\"a\\\"b\\\\c\\n\u{e9}\u{1f600}\\u003c\"");
        assert_eq!(parse(v.to_json().as_bytes()).unwrap(), v);
    }

    #[test]
    fn floats_are_written_shortest_and_read_back_exactly() {
        let mut out = String::new();
        for x in [1.0, 0.97, 1e-7, 1e300, 0.1 + 0.2, -0.0, 5e-324, 1.0 / 3.0] {
            out.clear();
            write_f64(&mut out, x);
            let Json::Num(y) = parse(out.as_bytes()).unwrap() else {
                panic!()
            };
            assert_eq!(x.to_bits(), y.to_bits(), "{out}");
        }
        out.clear();
        write_f64(&mut out, 1.0);
        assert_eq!(out, "1.0");
        out.clear();
        write_f64(&mut out, f64::NAN);
        assert_eq!(out, "null");
    }
}
