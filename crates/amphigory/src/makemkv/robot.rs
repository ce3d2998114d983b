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
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_once(':')?;
    let mut f = Fields::new(rest);
    let record = match kind {
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
        "TCOUNT" => RobotLine::TitleCount(f.number()?),
        "CINFO" => RobotLine::DiscInfo(f.attribute()?),
        "TINFO" => RobotLine::TitleInfo {
            title: f.number()?,
            attr: f.attribute()?,
        },
        "SINFO" => RobotLine::StreamInfo {
            title: f.number()?,
            stream: f.number()?,
            attr: f.attribute()?,
        },
        "PRGT" => RobotLine::ProgressTotalTitle(f.progress_title()?),
        "PRGC" => RobotLine::ProgressCurrentTitle(f.progress_title()?),
        "PRGV" => RobotLine::ProgressValue {
            current: f.number()?,
            total: f.number()?,
            max: f.number()?,
        },
        _ => return None,
    };
    Some(record)
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
        match self.rest.split_once(',') {
            Some((field, after)) => {
                self.rest = after;
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

    fn number(&mut self) -> Option<u32> {
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
fn split_quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let end = s.find(['"', '\\']);
    match end {
        None => Some((Cow::Borrowed(s), "")),
        Some(i) if s.as_bytes().get(i) == Some(&b'"') => {
            Some((Cow::Borrowed(s.get(..i)?), s.get(i + 1..)?))
        }
        Some(_) => Some(unescape_quoted(s)),
    }
}

/// Slow path of [`split_quoted`] for values holding a backslash.
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
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(parse_line("TCOUNT:16"), Some(RobotLine::TitleCount(16)));
        assert_eq!(
            parse_line("PRGV:120,3000,65536\r\n"),
            Some(RobotLine::ProgressValue {
                current: 120,
                total: 3000,
                max: 65536
            })
        );
        let Some(RobotLine::StreamInfo {
            title,
            stream,
            attr,
        }) = parse_line(r#"SINFO:0,1,6,0,"TrueHD""#)
        else {
            panic!("not SINFO")
        };
        assert_eq!(
            (title, stream, attr.id, attr.code, &*attr.value),
            (0, 1, 6, 0, "TrueHD")
        );
        let Some(RobotLine::Drive(d)) = parse_line(
            r#"DRV:0,2,999,12,"BD-RE HL-DT-ST BD-RE  WH16NS40 1.05","THE_UNIVERSE_3D","/dev/sr0""#,
        ) else {
            panic!("not DRV")
        };
        assert_eq!((d.index, d.state, d.flags), (0, 2, 12));
        assert_eq!((&*d.disc_name, &*d.device), ("THE_UNIVERSE_3D", "/dev/sr0"));
        assert!(matches!(
            parse_line(r#"PRGT:5024,0,"Saving all titles to MKV files""#),
            Some(RobotLine::ProgressTotalTitle(ProgressTitle {
                code: 5024,
                id: 0,
                ..
            }))
        ));
    }

    #[test]
    fn quoted_values_keep_commas_and_escapes() {
        let Some(RobotLine::DiscInfo(a)) = parse_line(r#"CINFO:2,0,"CSI: Season 1, Disc 1""#)
        else {
            panic!()
        };
        assert_eq!(a.value, "CSI: Season 1, Disc 1");
        let Some(RobotLine::Message(m)) = parse_line(
            r#"MSG:2010,0,1,"Optical drive \"BD-RE\" opened in OS access mode.","Optical drive \"%1\" opened in OS access mode.","BD-RE""#,
        ) else {
            panic!()
        };
        assert_eq!(m.text, r#"Optical drive "BD-RE" opened in OS access mode."#);
        assert_eq!(m.params, vec![Cow::Borrowed("BD-RE")]);
    }

    #[test]
    fn junk_and_unknown_kinds_are_none() {
        for line in [
            "",
            "HSH:0,x,y,1",
            "Use: makemkvcon [switches] Command",
            "TCOUNT:x",
            "MSG:1",
            "PRGV:1,2",
        ] {
            assert_eq!(parse_line(line), None, "{line}");
        }
        assert!(parse_bytes(b"CINFO:2,0,\"caf\xe9\"").is_some());
    }
}
