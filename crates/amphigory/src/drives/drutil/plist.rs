//! A tiny tolerant reader for the property-list subset `drutil status -xml` emits:
//! `dict`, `array`, `key`, `string`, `integer`, `real`, `true`/`false`, and `data`/`date`
//! kept as text. Processing instructions, the doctype and comments are skipped.

use super::{DrutilError, malformed};

/// A property-list value.
#[derive(Debug, Clone, PartialEq)]
pub enum Plist {
    /// `<dict>`: keys and values in document order.
    Dict(Vec<(String, Plist)>),
    /// `<array>`.
    Array(Vec<Plist>),
    /// `<string>`, `<date>`, `<data>` (text as written, entities decoded).
    String(String),
    /// `<integer>`.
    Integer(i64),
    /// `<real>`.
    Real(f64),
    /// `<true/>` / `<false/>`.
    Bool(bool),
}

/// Deepest nesting of dictionaries and arrays read. drutil's own output nests four
/// deep; the reader recurses once a level, and 1 MB of `<array>` overflowed the stack
/// (issue 19).
pub const MAX_DEPTH: usize = 64;

/// Parses the first value inside `<plist>` (or the first element when there is none).
pub fn parse_plist(xml: &str) -> Result<Plist, DrutilError> {
    let mut r = Reader {
        s: xml,
        pos: 0,
        depth: 0,
    };
    loop {
        match r.next_tag()? {
            Some(Tag::Open(name)) if name == "plist" => {}
            Some(tag) => return r.value(tag),
            None => return Err(malformed("no value")),
        }
    }
}

enum Tag {
    Open(String),
    Close,
    Empty(String),
}

struct Reader<'a> {
    s: &'a str,
    pos: usize,
    /// Dictionaries and arrays open around the reader.
    depth: usize,
}

impl Reader<'_> {
    /// Next element tag, skipping text, `<?…?>`, `<!…>` and comments.
    fn next_tag(&mut self) -> Result<Option<Tag>, DrutilError> {
        loop {
            let Some(rest) = self.s.get(self.pos..) else {
                return Ok(None);
            };
            let Some(lt) = rest.find('<') else {
                return Ok(None);
            };
            let after = rest.get(lt..).unwrap_or("");
            let close = if after.starts_with("<!--") {
                "-->"
            } else {
                ">"
            };
            let gt = after.find(close).ok_or_else(|| malformed("unclosed tag"))?;
            let inner = after.get(1..gt).unwrap_or("");
            self.pos += lt + gt + close.len();
            if inner.starts_with('?') || inner.starts_with('!') {
                continue;
            }
            let name = |t: &str| t.split_whitespace().next().unwrap_or("").to_owned();
            return Ok(Some(if inner.starts_with('/') {
                Tag::Close
            } else if let Some(n) = inner.strip_suffix('/') {
                Tag::Empty(name(n))
            } else {
                Tag::Open(name(inner))
            }));
        }
    }

    /// Text up to the closing tag `</name>`.
    fn text_until(&mut self, name: &str) -> Result<String, DrutilError> {
        let end = format!("</{name}>");
        let rest = self.s.get(self.pos..).unwrap_or("");
        let at = rest
            .find(&end)
            .ok_or_else(|| malformed("unclosed element"))?;
        self.pos += at + end.len();
        Ok(unescape(rest.get(..at).unwrap_or("")))
    }

    fn value(&mut self, tag: Tag) -> Result<Plist, DrutilError> {
        match tag {
            Tag::Empty(n) if n == "true" => Ok(Plist::Bool(true)),
            Tag::Empty(n) if n == "false" => Ok(Plist::Bool(false)),
            Tag::Empty(n) if n == "dict" => Ok(Plist::Dict(Vec::new())),
            Tag::Empty(n) if n == "array" => Ok(Plist::Array(Vec::new())),
            Tag::Empty(_) => Ok(Plist::String(String::new())),
            Tag::Close => Err(malformed("unexpected closing tag")),
            Tag::Open(n) => match n.as_str() {
                "dict" => self.nested(Self::dict),
                "array" => self.nested(Self::array),
                "integer" => {
                    let t = self.text_until(&n)?;
                    let v = t.trim().parse().map_err(|_| malformed("bad integer"))?;
                    Ok(Plist::Integer(v))
                }
                "real" => {
                    let t = self.text_until(&n)?;
                    let v = t.trim().parse().map_err(|_| malformed("bad real"))?;
                    Ok(Plist::Real(v))
                }
                _ => Ok(Plist::String(self.text_until(&n)?)),
            },
        }
    }

    /// Reads a dictionary or an array one level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested(
        &mut self,
        read: fn(&mut Self) -> Result<Plist, DrutilError>,
    ) -> Result<Plist, DrutilError> {
        if self.depth >= MAX_DEPTH {
            return Err(malformed("nested too deeply"));
        }
        self.depth += 1;
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn dict(&mut self) -> Result<Plist, DrutilError> {
        let mut entries = Vec::new();
        loop {
            match self.next_tag()? {
                Some(Tag::Close) => return Ok(Plist::Dict(entries)),
                Some(Tag::Open(n)) if n == "key" => {
                    let key = self.text_until("key")?;
                    let tag = self
                        .next_tag()?
                        .ok_or_else(|| malformed("key without value"))?;
                    entries.push((key, self.value(tag)?));
                }
                Some(_) => return Err(malformed("dict entry without key")),
                None => return Err(malformed("unclosed dict")),
            }
        }
    }

    fn array(&mut self) -> Result<Plist, DrutilError> {
        let mut items = Vec::new();
        loop {
            match self.next_tag()? {
                Some(Tag::Close) => return Ok(Plist::Array(items)),
                Some(tag) => items.push(self.value(tag)?),
                None => return Err(malformed("unclosed array")),
            }
        }
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

impl Plist {
    /// First value under any of `keys`, searching this value and everything below it
    /// (depth first, document order).
    pub fn find(&self, keys: &[&str]) -> Option<&Plist> {
        match self {
            Self::Dict(entries) => self
                .get(keys)
                .or_else(|| entries.iter().find_map(|(_, v)| v.find(keys))),
            Self::Array(items) => items.iter().find_map(|v| v.find(keys)),
            _ => None,
        }
    }

    /// True when a string anywhere below equals `device` or starts with it followed by a
    /// non-digit (so `/dev/disk1` does not match `/dev/disk12`).
    pub fn mentions(&self, device: &str) -> bool {
        match self {
            Self::String(s) => s.trim().strip_prefix(device).is_some_and(|rest| {
                !rest.starts_with(|c: char| c.is_ascii_digit()) || device.ends_with("disk")
            }),
            Self::Dict(entries) => entries.iter().any(|(_, v)| v.mentions(device)),
            Self::Array(items) => items.iter().any(|v| v.mentions(device)),
            _ => false,
        }
    }

    /// Value under any of `keys` in this dictionary itself (not below it).
    pub fn get(&self, keys: &[&str]) -> Option<&Plist> {
        match self {
            Self::Dict(entries) => entries
                .iter()
                .find(|(k, _)| keys.iter().any(|want| k.eq_ignore_ascii_case(want)))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The first dictionary (this one or below, depth first) holding one of `keys`.
    pub fn dict_with(&self, keys: &[&str]) -> Option<&Plist> {
        if self.get(keys).is_some() {
            return Some(self);
        }
        match self {
            Self::Dict(entries) => entries.iter().find_map(|(_, v)| v.dict_with(keys)),
            Self::Array(items) => items.iter().find_map(|v| v.dict_with(keys)),
            _ => None,
        }
    }

    /// Integer value (also from a decimal string).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Integer(n) => u64::try_from(*n).ok(),
            Self::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Text value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }
}
