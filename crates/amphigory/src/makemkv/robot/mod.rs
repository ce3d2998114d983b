//! Robot-mode line parser (SPEC §6.2): one `makemkvcon -r` line → one typed record.
//!
//! Pure and allocation-light: fields borrow from the line unless a quoted value holds a
//! backslash escape. Unknown prefixes, short lines and junk give `None`, never an error:
//! MakeMKV prints plain text (usage help) on the same stream, and other tools append
//! lines of their own (TheDiscDb's `HSH:`).

use std::borrow::Cow;

/// A `KIND:id,code,"value"` attribute of `CINFO`, `TINFO` or `SINFO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// Attribute id (SPEC §6.2: 1 type, 2 name, 9 duration, 11 size bytes, 27 file name…).
    pub id: u32,
    /// Message code of the value (e.g. 6209 for "Blu-ray disc"), 0 when plain.
    pub code: u32,
    /// The value, unescaped.
    pub value: Cow<'a, str>,
}

/// `MSG:code,flags,count,"text","format",params…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Message code (5010 "Failed to open disc", 5036 "Copy complete"…).
    pub code: u32,
    /// Flag bits.
    pub flags: u32,
    /// Number of parameters MakeMKV announced.
    pub count: u32,
    /// The formatted, localised text.
    pub text: Cow<'a, str>,
    /// The format string.
    pub format: Cow<'a, str>,
    /// The parameters.
    pub params: Vec<Cow<'a, str>>,
}

/// `DRV:index,state,unused,flags,"drive","disc","device"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveLine<'a> {
    /// Drive slot index (the `N` of `disc:N`).
    pub index: u32,
    /// 256 no drive, 0 empty, 1 tray open, 2 disc inserted, 3 loading, 257 unmounting.
    pub state: u32,
    /// Disc content flags (1 DVD, 4 Blu-ray, 8 AACS, 16 BD+).
    pub flags: u32,
    /// Drive model.
    pub drive_name: Cow<'a, str>,
    /// Disc volume name.
    pub disc_name: Cow<'a, str>,
    /// Device path (`/dev/sr0`, `/dev/rdisk4`, `E:`).
    pub device: Cow<'a, str>,
}

/// `PRGT`/`PRGC`: `code,id,"name"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressTitle<'a> {
    /// Operation code (5024 "Saving all titles to MKV files"…).
    pub code: u32,
    /// Operation id.
    pub id: u32,
    /// Localised name.
    pub name: Cow<'a, str>,
}

/// One robot-mode record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobotLine<'a> {
    /// `MSG:`.
    Message(Message<'a>),
    /// `DRV:`.
    Drive(DriveLine<'a>),
    /// `TCOUNT:n`.
    TitleCount(u32),
    /// `CINFO:attr,code,"value"`.
    DiscInfo(Attribute<'a>),
    /// `TINFO:title,attr,code,"value"`.
    TitleInfo {
        /// Title index.
        title: u32,
        /// The attribute.
        attr: Attribute<'a>,
    },
    /// `SINFO:title,stream,attr,code,"value"`.
    StreamInfo {
        /// Title index.
        title: u32,
        /// Stream index within the title.
        stream: u32,
        /// The attribute.
        attr: Attribute<'a>,
    },
    /// `PRGT:` total-progress title.
    ProgressTotalTitle(ProgressTitle<'a>),
    /// `PRGC:` current-step title.
    ProgressCurrentTitle(ProgressTitle<'a>),
    /// `PRGV:current,total,max`.
    ProgressValue {
        /// Current step's value.
        current: u32,
        /// Whole operation's value.
        total: u32,
        /// Scale (65536).
        max: u32,
    },
}

/// Parses one line (a trailing `\r` or `\n` is ignored). `None` for anything that is not
/// a well-formed robot-mode record of a known kind.
pub fn parse_line(line: &str) -> Option<RobotLine<'_>> {
    let line = trim_line_end(line);
    let colon = line.bytes().position(|b| b == b':')?;
    let (kind, rest) = (line.get(..colon)?, line.get(colon + 1..)?);
    let mut f = Fields::new(rest);
    // Most frequent kinds first: string arms are tried in order.
    let record = match kind {
        "TINFO" => RobotLine::TitleInfo {
            title: f.number()?,
            attr: f.attribute()?,
        },
        "SINFO" => RobotLine::StreamInfo {
            title: f.number()?,
            stream: f.number()?,
            attr: f.attribute()?,
        },
        "MSG" => RobotLine::Message(Message {
            code: f.number()?,
            flags: f.number()?,
            count: f.number()?,
            text: f.string()?,
            format: f.string().unwrap_or(Cow::Borrowed("")),
            params: std::iter::from_fn(|| f.string()).collect(),
        }),
        "DRV" => RobotLine::Drive(DriveLine {
            index: f.number()?,
            state: f.number()?,
            flags: f.skip().and_then(|()| f.number())?,
            drive_name: f.string()?,
            disc_name: f.string()?,
            device: f.string().unwrap_or(Cow::Borrowed("")),
        }),
        "PRGT" => RobotLine::ProgressTotalTitle(f.progress_title()?),
        "PRGC" => RobotLine::ProgressCurrentTitle(f.progress_title()?),
        "PRGV" => RobotLine::ProgressValue {
            current: f.number()?,
            total: f.number()?,
            max: f.number()?,
        },
        "TCOUNT" => RobotLine::TitleCount(f.number()?),
        "CINFO" => RobotLine::DiscInfo(f.attribute()?),
        _ => return None,
    };
    Some(record)
}

/// Where a `TINFO`/`SINFO` line points, read without touching its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttributeKey {
    /// `TINFO:title,id,…`.
    Title { title: u32, id: u32 },
    /// `SINFO:title,stream,id,…`.
    Stream { title: u32, stream: u32, id: u32 },
}

/// The [`AttributeKey`] of a title or stream attribute line, `None` for anything else. A
/// tenth of the cost of [`parse_line`]: half the lines of a big scan are attributes a
/// consumer ignores, and this lets it skip them. Lines written other than MakeMKV
/// writes them (spaces, quoted numbers) give `None` and take the full parse.
pub(crate) fn attribute_key(line: &str) -> Option<AttributeKey> {
    if let Some(rest) = line.strip_prefix("SINFO:") {
        let [title, stream, id] = leading_numbers(rest.as_bytes())?;
        return Some(AttributeKey::Stream { title, stream, id });
    }
    let [title, id] = leading_numbers(line.strip_prefix("TINFO:")?.as_bytes())?;
    Some(AttributeKey::Title { title, id })
}

/// `N` bare numbers of at most nine digits, each followed by a comma.
fn leading_numbers<const N: usize>(bytes: &[u8]) -> Option<[u32; N]> {
    let mut numbers = [0u32; N];
    let mut at = 0;
    for number in &mut numbers {
        let start = at;
        while let Some(&b) = bytes.get(at).filter(|b| b.is_ascii_digit()) {
            *number = number.wrapping_mul(10).wrapping_add(u32::from(b - b'0'));
            at += 1;
        }
        if at == start || at - start > 9 || bytes.get(at) != Some(&b',') {
            return None;
        }
        at += 1;
    }
    Some(numbers)
}

/// `line` without its trailing `\r`/`\n` characters.
fn trim_line_end(line: &str) -> &str {
    let kept = line
        .bytes()
        .rposition(|b| b != b'\r' && b != b'\n')
        .map_or(0, |i| i + 1);
    line.get(..kept).unwrap_or(line)
}

/// Parses one line of raw bytes, decoding invalid UTF-8 lossily first.
pub fn parse_bytes(line: &[u8]) -> Option<RobotLine<'_>> {
    match String::from_utf8_lossy(line) {
        Cow::Borrowed(text) => parse_line(text),
        Cow::Owned(text) => parse_line(&text).map(into_owned),
    }
}

/// Detaches a record from the line it borrows from.
pub fn into_owned(line: RobotLine<'_>) -> RobotLine<'static> {
    fn own(c: Cow<'_, str>) -> Cow<'static, str> {
        Cow::Owned(c.into_owned())
    }
    fn attr(a: Attribute<'_>) -> Attribute<'static> {
        Attribute {
            id: a.id,
            code: a.code,
            value: own(a.value),
        }
    }
    fn title(t: ProgressTitle<'_>) -> ProgressTitle<'static> {
        ProgressTitle {
            code: t.code,
            id: t.id,
            name: own(t.name),
        }
    }
    match line {
        RobotLine::Message(m) => RobotLine::Message(Message {
            code: m.code,
            flags: m.flags,
            count: m.count,
            text: own(m.text),
            format: own(m.format),
            params: m.params.into_iter().map(own).collect(),
        }),
        RobotLine::Drive(d) => RobotLine::Drive(DriveLine {
            index: d.index,
            state: d.state,
            flags: d.flags,
            drive_name: own(d.drive_name),
            disc_name: own(d.disc_name),
            device: own(d.device),
        }),
        RobotLine::TitleCount(n) => RobotLine::TitleCount(n),
        RobotLine::DiscInfo(a) => RobotLine::DiscInfo(attr(a)),
        RobotLine::TitleInfo { title: t, attr: a } => RobotLine::TitleInfo {
            title: t,
            attr: attr(a),
        },
        RobotLine::StreamInfo {
            title: t,
            stream,
            attr: a,
        } => RobotLine::StreamInfo {
            title: t,
            stream,
            attr: attr(a),
        },
        RobotLine::ProgressTotalTitle(t) => RobotLine::ProgressTotalTitle(title(t)),
        RobotLine::ProgressCurrentTitle(t) => RobotLine::ProgressCurrentTitle(title(t)),
        RobotLine::ProgressValue {
            current,
            total,
            max,
        } => RobotLine::ProgressValue {
            current,
            total,
            max,
        },
    }
}

/// A cursor over the comma-separated fields after `KIND:`.
struct Fields<'a> {
    rest: &'a str,
    done: bool,
}

impl<'a> Fields<'a> {
    fn new(rest: &'a str) -> Self {
        Self { rest, done: false }
    }

    /// The next raw field: quoted (with escapes, may contain commas) or bare.
    #[inline]
    fn next_raw(&mut self) -> Option<Cow<'a, str>> {
        if self.done {
            return None;
        }
        if let Some(quoted) = self.rest.strip_prefix('"') {
            let (value, after) = split_quoted(quoted)?;
            self.rest = after;
            self.consume_separator();
            return Some(value);
        }
        // A byte loop beats `memchr` on fields this short.
        match self.rest.bytes().position(|b| b == b',') {
            Some(i) => {
                let field = self.rest.get(..i)?;
                self.rest = self.rest.get(i + 1..)?;
                Some(Cow::Borrowed(field))
            }
            None => {
                self.done = true;
                Some(Cow::Borrowed(self.rest))
            }
        }
    }

    fn consume_separator(&mut self) {
        match self.rest.strip_prefix(',') {
            Some(after) => self.rest = after,
            None => self.done = true,
        }
    }

    /// A bare run of digits is read in place (the hot path: every attribute line starts
    /// with three or four numbers); anything else goes through the general field reader.
    #[inline]
    fn number(&mut self) -> Option<u32> {
        if self.done {
            return None;
        }
        let bytes = self.rest.as_bytes();
        let (mut value, mut digits) = (0u32, 0usize);
        for &b in bytes {
            if !b.is_ascii_digit() {
                break;
            }
            // Nine digits cannot overflow a u32; longer runs take the checked path.
            value = value.wrapping_mul(10).wrapping_add(u32::from(b - b'0'));
            digits += 1;
        }
        match bytes.get(digits) {
            Some(b',') if (1..=9).contains(&digits) => {
                self.rest = self.rest.get(digits + 1..)?;
                Some(value)
            }
            None if (1..=9).contains(&digits) => {
                self.rest = "";
                self.done = true;
                Some(value)
            }
            _ => self.number_slow(),
        }
    }

    #[cold]
    #[inline(never)]
    fn number_slow(&mut self) -> Option<u32> {
        self.next_raw()?.trim().parse().ok()
    }

    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.next_raw()
    }

    fn skip(&mut self) -> Option<()> {
        self.next_raw().map(|_| ())
    }

    fn attribute(&mut self) -> Option<Attribute<'a>> {
        Some(Attribute {
            id: self.number()?,
            code: self.number()?,
            value: self.string()?,
        })
    }

    fn progress_title(&mut self) -> Option<ProgressTitle<'a>> {
        Some(ProgressTitle {
            code: self.number()?,
            id: self.number()?,
            name: self.string()?,
        })
    }
}

/// Splits `value"rest` at the closing quote, unescaping `\"`, `\\` and friends. Returns
/// the value and what follows the closing quote; an unterminated quote takes the rest of
/// the line (MakeMKV never prints one, but a cut-off capture might).
#[inline]
fn split_quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    match find_either(s.as_bytes(), b'"', b'\\') {
        None => Some((Cow::Borrowed(s), "")),
        Some(i) if s.as_bytes().get(i) == Some(&b'"') => {
            Some((Cow::Borrowed(s.get(..i)?), s.get(i + 1..)?))
        }
        Some(_) => Some(unescape_quoted(s)),
    }
}

/// Index of the first byte equal to `a` or `b`, eight bytes at a time: values and lines
/// are short, so `memchr`'s set-up costs more than it saves, and a byte loop mispredicts
/// its exit on every field.
pub(crate) fn find_either(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let (a_lanes, b_lanes) = (ONES * u64::from(a), ONES * u64::from(b));
    // The high bit of each zero byte of `w`; bytes above the first may be false hits,
    // which the lowest-bit read below never sees.
    let zeros = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let hits = zeros(word ^ a_lanes) | zeros(word ^ b_lanes);
        if hits != 0 {
            return Some(base + (hits.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    let tail = chunks.remainder().iter().position(|&c| c == a || c == b)?;
    Some(base + tail)
}

/// Slow path of [`split_quoted`] for values holding a backslash.
#[cold]
fn unescape_quoted(s: &str) -> (Cow<'_, str>, &str) {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (Cow::Owned(out), s.get(i + 1..).unwrap_or("")),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, other)) => out.push(other),
                None => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    (Cow::Owned(out), "")
}

#[cfg(test)]
mod tests;
