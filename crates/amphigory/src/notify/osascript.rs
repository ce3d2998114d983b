//! macOS without the app bundle: `osascript -e 'display notification …'`, run directly
//! (no shell), the text quoted as AppleScript string literals. The script is built by
//! pure functions compiled on every platform, so the quoting is tested everywhere.

use super::{APP_NAME, Notification};

/// The AppleScript that shows `note`: `display notification BODY with title APP
/// subtitle SUMMARY`.
pub fn script(note: &Notification) -> String {
    format!(
        "display notification {} with title {} subtitle {}",
        quoted(&note.body),
        quoted(APP_NAME),
        quoted(&note.summary)
    )
}

/// `text` as an AppleScript string literal: in double quotes, with `\` and `"`
/// escaped and control characters (line breaks included) turned into spaces, so nothing
/// in a disc or file name can end the literal and run as script.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs `osascript -e SCRIPT` for `note` and waits for it.
#[cfg(target_os = "macos")]
pub(super) async fn show(note: &Notification) -> Result<(), super::NotifyError> {
    use super::NotifyError;
    let output = tokio::process::Command::new("/usr/bin/osascript")
        .arg("-e")
        .arg(script(note))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| NotifyError::Unavailable(format!("cannot run osascript: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(NotifyError::Failed(format!(
        "osascript {}: {}",
        output.status,
        stderr.trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Kind;

    #[test]
    fn quotes_and_backslashes_cannot_end_the_literal() {
        assert_eq!(quoted("plain"), "\"plain\"");
        assert_eq!(quoted(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(quoted(r"C:\disc"), r#""C:\\disc""#);
        // A trailing backslash must not escape the closing quote.
        assert_eq!(quoted("end\\"), r#""end\\""#);
        assert_eq!(quoted("two\nlines\r\tand"), "\"two lines  and\"");
        assert_eq!(quoted("Amélie — 3 rips"), "\"Amélie — 3 rips\"");
    }

    #[test]
    fn the_script_names_body_app_and_summary() {
        let note = Notification {
            kind: Kind::Failed,
            summary: "Rip failed".into(),
            body: r#"" & do shell script "rm -rf ~" & ""#.into(),
        };
        assert_eq!(
            script(&note),
            r#"display notification "\" & do shell script \"rm -rf ~\" & \"" with title "Amphigory" subtitle "Rip failed""#
        );
    }
}
