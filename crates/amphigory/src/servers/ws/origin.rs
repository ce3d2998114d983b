//! The `Origin` check (SPEC §7.1, §12): a web page must not be able to drive the daemon.
//!
//! Browsers send `Origin` on every WebSocket handshake, so a page on a foreign site is
//! recognisable; tools (`websocat`, scripts) send none and are trusted like any local
//! process. A present `Origin` is accepted only when it is a localhost origin
//! (`http(s)://localhost`, `127.0.0.1` or `[::1]`, any port) or the webapp's origin.
//! Everything else, including `null` (sandboxed frames, `file://` pages), is refused.

/// One parsed `scheme://host[:port]` origin, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses an origin, or the origin of a URL (its path, query and fragment are
    /// ignored): `http://Localhost:6199/x` → `http://localhost:6199`. Only `http`,
    /// `https`, `ws` and `wss` URLs have an origin here; user info is refused.
    pub fn parse(text: &str) -> Option<Self> {
        let (scheme, rest) = text.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" | "ws" => 80,
            "https" | "wss" => 443,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let (host, port) = split_host_port(authority)?;
        Some(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(default_port),
        })
    }

    /// Is this origin on this machine (`localhost`, `127.0.0.1`, `[::1]`)?
    pub fn is_localhost(&self) -> bool {
        matches!(self.scheme.as_str(), "http" | "https")
            && matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
    }
}

fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        // `[v6]` keeps its brackets: the origin is compared as written.
        let (inside, after) = authority.split_once(']')?;
        let host = authority.get(..=inside.len())?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host == "[]" {
        return None;
    }
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
        None => None,
    };
    Some((host, port))
}

/// Decides a handshake's `Origin` header value.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    webapp: Option<Origin>,
}

impl OriginPolicy {
    /// A policy accepting localhost origins and, if given and parseable, the origin of
    /// `webapp_url` (a full URL such as `http://nas.lan:6199/` is fine).
    pub fn new(webapp_url: Option<&str>) -> Self {
        Self {
            webapp: webapp_url.and_then(Origin::parse),
        }
    }

    /// May a handshake carrying this `Origin` header value (`None`: no header) go on?
    pub fn allows(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        match Origin::parse(origin) {
            Some(o) => o.is_localhost() || self.webapp.as_ref() == Some(&o),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_origin_and_localhost_origins_are_allowed() {
        let p = OriginPolicy::new(None);
        for ok in [
            None,
            Some("http://localhost:3000"),
            Some("http://localhost"),
            Some("https://LOCALHOST:8443"),
            Some("http://127.0.0.1:6199"),
            Some("http://[::1]:5173"),
        ] {
            assert!(p.allows(ok), "{ok:?}");
        }
    }

    #[test]
    fn foreign_and_odd_origins_are_refused() {
        let p = OriginPolicy::new(Some("http://nas.lan:6199"));
        for bad in [
            "http://evil.example",
            "null",
            "",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example:80",
            "http://localhost@evil.example",
            "file://localhost",
            "ftp://localhost",
            "http://localhost:abc",
            "http://localhost:",
            "http://[::1",
            "http://nas.lan:6200",
            "https://nas.lan:6199",
        ] {
            assert!(!p.allows(Some(bad)), "{bad}");
        }
    }

    #[test]
    fn the_webapp_origin_is_allowed_however_it_is_written() {
        let p = OriginPolicy::new(Some("http://NAS.lan:6199/some/path?q"));
        assert!(p.allows(Some("http://nas.lan:6199")));
        let p = OriginPolicy::new(Some("https://amphigory.example"));
        assert!(p.allows(Some("https://amphigory.example:443")));
        assert!(p.allows(Some("https://amphigory.example")));
        assert!(!p.allows(Some("http://amphigory.example")));
        let p = OriginPolicy::new(Some("not a url"));
        assert!(!p.allows(Some("not a url")));
    }
}
