//! A JSON reader for the tests that read the release's JSON files (the
//! dependency section, the SBOM, the image archive's index and manifests).
//! Small and strict: the whole of RFC 8259's grammar, numbers kept as their
//! text. (Not serde_json: its `PartialEq` impls for `i32`, `&str`... make
//! `assert_eq!(v, [])` in every other test file ambiguous.)
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Index;

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// A number, as written.
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

static NULL: Json = Json::Null;

impl Json {
    /// Parses `text`; fails the test on malformed JSON, saying where.
    pub fn parse(text: &[u8]) -> Json {
        let mut p = Parser { s: text, at: 0 };
        let v = p.value();
        p.space();
        assert_eq!(p.at, text.len(), "trailing bytes after JSON at {}", p.at);
        v
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of an array; an empty slice for anything else.
    pub fn items(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => &[],
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Num(n) => n.parse().ok(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }
}

/// `v["key"]`: the member, or null when there is none (or `v` is not an
/// object), as serde_json does.
impl Index<&str> for Json {
    type Output = Json;
    fn index(&self, key: &str) -> &Json {
        match self {
            Json::Obj(m) => m.get(key).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
}

impl Index<usize> for Json {
    type Output = Json;
    fn index(&self, i: usize) -> &Json {
        self.items().get(i).unwrap_or(&NULL)
    }
}

impl PartialEq<&str> for Json {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<bool> for Json {
    fn eq(&self, other: &bool) -> bool {
        *self == Json::Bool(*other)
    }
}

/// Compact JSON, keys sorted (for failure messages).
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Num(n) => f.write_str(n),
            Json::Str(s) => write!(f, "{s:?}"),
            Json::Arr(a) => {
                f.write_str("[")?;
                for (i, v) in a.iter().enumerate() {
                    write!(f, "{}{v}", if i > 0 { "," } else { "" })?;
                }
                f.write_str("]")
            }
            Json::Obj(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    write!(f, "{}{k:?}:{v}", if i > 0 { "," } else { "" })?;
                }
                f.write_str("}")
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn fail(&self, what: &str) -> ! {
        let end = (self.at + 20).min(self.s.len());
        panic!(
            "bad JSON at byte {}: {what}: {:?}",
            self.at,
            String::from_utf8_lossy(&self.s[self.at..end])
        )
    }

    fn space(&mut self) {
        while self.at < self.s.len() && b" \t\r\n".contains(&self.s[self.at]) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> u8 {
        self.space();
        *self
            .s
            .get(self.at)
            .unwrap_or_else(|| self.fail("unexpected end"))
    }

    fn expect(&mut self, b: u8) {
        if self.peek() != b {
            self.fail(&format!("expected {:?}", b as char));
        }
        self.at += 1;
    }

    fn word(&mut self, w: &str, v: Json) -> Json {
        if !self.s[self.at..].starts_with(w.as_bytes()) {
            self.fail("not a value");
        }
        self.at += w.len();
        v
    }

    fn value(&mut self) -> Json {
        match self.peek() {
            b'{' => {
                self.at += 1;
                let mut m = BTreeMap::new();
                if self.peek() == b'}' {
                    self.at += 1;
                    return Json::Obj(m);
                }
                loop {
                    let k = self.string();
                    self.expect(b':');
                    let v = self.value();
                    if m.insert(k, v).is_some() {
                        self.fail("duplicate key");
                    }
                    match self.peek() {
                        b',' => self.at += 1,
                        b'}' => break,
                        _ => self.fail("expected , or }"),
                    }
                }
                self.at += 1;
                Json::Obj(m)
            }
            b'[' => {
                self.at += 1;
                let mut a = Vec::new();
                if self.peek() == b']' {
                    self.at += 1;
                    return Json::Arr(a);
                }
                loop {
                    a.push(self.value());
                    match self.peek() {
                        b',' => self.at += 1,
                        b']' => break,
                        _ => self.fail("expected , or ]"),
                    }
                }
                self.at += 1;
                Json::Arr(a)
            }
            b'"' => Json::Str(self.string()),
            b't' => self.word("true", Json::Bool(true)),
            b'f' => self.word("false", Json::Bool(false)),
            b'n' => self.word("null", Json::Null),
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                while self.at < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.at]) {
                    self.at += 1;
                }
                let n = std::str::from_utf8(&self.s[start..self.at]).unwrap();
                if n.parse::<f64>().is_err() {
                    self.fail("bad number");
                }
                Json::Num(n.to_string())
            }
            _ => self.fail("not a value"),
        }
    }

    fn hex4(&mut self) -> u32 {
        let h = self
            .s
            .get(self.at..self.at + 4)
            .unwrap_or_else(|| self.fail("short \\u"));
        let h = std::str::from_utf8(h)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        self.at += 4;
        h.unwrap_or_else(|| self.fail("bad \\u"))
    }

    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = Vec::new();
        loop {
            let b = *self
                .s
                .get(self.at)
                .unwrap_or_else(|| self.fail("unterminated string"));
            self.at += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let e = *self
                        .s
                        .get(self.at)
                        .unwrap_or_else(|| self.fail("bad escape"));
                    self.at += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let mut u = self.hex4();
                            if (0xd800..0xdc00).contains(&u)
                                && self.s[self.at..].starts_with(b"\\u")
                            {
                                self.at += 2;
                                let low = self.hex4();
                                u = 0x10000
                                    + ((u - 0xd800) << 10)
                                    + (low.wrapping_sub(0xdc00) & 0x3ff);
                            }
                            char::from_u32(u).unwrap_or_else(|| self.fail("bad \\u"))
                        }
                        _ => self.fail("bad escape"),
                    };
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                0..=0x1f => self.fail("control character in a string"),
                _ => out.push(b),
            }
        }
        String::from_utf8(out).unwrap_or_else(|_| self.fail("string is not UTF-8"))
    }
}

#[test]
fn json_reads_what_it_should() {
    let v = Json::parse(
        br#" {"a": [1, -2.5e3, true, null], "b": "x\"\u00e9\ud83d\ude00\n", "c": {}} "#,
    );
    assert_eq!(v["a"][0].as_u64(), Some(1));
    assert_eq!(v["a"][1], Json::Num("-2.5e3".into()));
    assert_eq!(v["a"][2], true);
    assert!(v["a"][3].is_null() && v["a"][9].is_null() && v["zz"].is_null());
    assert_eq!(v["b"], "x\"é😀\n");
    assert_eq!(v["c"], Json::Obj(BTreeMap::new()));
    assert_eq!(
        v.to_string(),
        r#"{"a":[1,-2.5e3,true,null],"b":"x\"é😀\n","c":{}}"#
    );
    for bad in [
        &br#"{"a":1,}"#[..],
        b"[1 2]",
        b"\"abc",
        br#"{"a":1,"a":2}"#,
        b"tru",
        b"1 x",
    ] {
        let r = std::panic::catch_unwind(|| Json::parse(bad));
        assert!(r.is_err(), "accepted {:?}", String::from_utf8_lossy(bad));
    }
}
