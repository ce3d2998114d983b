//! Lines of `daemon.yaml` as the YAML parser counts them, and the top-level keys on them,
//! so that the line an error or a warning names is the line the parser meant.
//!
//! YAML breaks lines at `\n`, `\r\n` and a lone `\r`; `str::lines` knows only the first
//! two, so a file with old Mac line ends got errors "at line 73 of a 12-line file" (issue
//! 19). Keys are found in one pass: looking each unknown key up with a scan of the whole
//! file was quadratic (10,000 unknown keys took seconds).

use std::collections::HashMap;

/// The lines of `text`, broken where YAML breaks them.
pub(super) fn yaml_lines(text: &str) -> impl Iterator<Item = &str> + '_ {
    text.split('\n')
        .flat_map(|line| line.strip_suffix('\r').unwrap_or(line).split('\r'))
}

/// The key a line at the top level starts with: what comes before its first `:` followed
/// by a space, a tab or the end of the line (YAML's mapping separator), trailing spaces
/// removed. `None` for indented lines and lines without a separator.
fn top_level_key(line: &str) -> Option<&str> {
    if line.starts_with([' ', '\t', '#']) {
        return None;
    }
    let mut from = 0;
    while let Some(at) = line.get(from..)?.find(':').map(|i| from + i) {
        let after = line.get(at + 1..).unwrap_or_default();
        if after.is_empty() || after.starts_with([' ', '\t']) {
            let key = line.get(..at)?.trim_end();
            return (!key.is_empty()).then_some(key);
        }
        from = at + 1;
    }
    None
}

/// The first line (1-based) of each top-level key.
pub(super) fn key_lines(text: &str) -> HashMap<&str, u64> {
    let mut lines = HashMap::new();
    for (line, n) in yaml_lines(text).zip(1u64..) {
        if let Some(key) = top_level_key(line) {
            lines.entry(key).or_insert(n);
        }
    }
    lines
}

/// The line of a top-level `key:`, if it is written plainly.
pub(super) fn line_of_key(text: &str, key: &str) -> Option<u64> {
    yaml_lines(text)
        .zip(1u64..)
        .find_map(|(line, n)| (top_level_key(line) == Some(key)).then_some(n))
}

/// The line of `child:` in the block mapping under the top-level `parent:`, if both are
/// written plainly (a flow mapping, `parent: {child: …}`, gives `None`).
pub(super) fn line_of_child(text: &str, parent: &str, child: &str) -> Option<u64> {
    let mut inside = false;
    for (line, n) in yaml_lines(text).zip(1u64..) {
        if let Some(key) = top_level_key(line) {
            inside = key == parent;
            continue;
        }
        let trimmed = line.trim_start();
        if !inside || trimmed.starts_with('#') {
            continue;
        }
        let key = trimmed.split_once(':').map(|(k, _)| k.trim());
        if key.map(|k| k.trim_matches(|c| c == '"' || c == '\'')) == Some(child) {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_where_yaml_breaks_them() {
        let lines: Vec<&str> = yaml_lines("a\r\nb\rc\n\r\nd").collect();
        assert_eq!(lines, ["a", "b", "c", "", "d"]);
    }

    #[test]
    fn keys_are_found_on_their_lines() {
        let text = "a: 1\r  b: 2\rc:d: 3\n# e: 4\nf :\ng:h\na: again\n";
        let lines = key_lines(text);
        assert_eq!(lines.get("a"), Some(&1));
        assert_eq!(lines.get("b"), None);
        assert_eq!(lines.get("c:d"), Some(&3));
        assert_eq!(lines.get("e"), None);
        assert_eq!(lines.get("f"), Some(&5));
        assert_eq!(lines.get("g"), None);
        assert_eq!(line_of_key(text, "c:d"), Some(3));
        assert_eq!(line_of_key(text, "zz"), None);
    }

    #[test]
    fn children_are_found_under_their_parent_only() {
        let text = "on_x: 1\nhooks:\n  # on_x: no\n  on_y: [a]\n  on_x: [b]\nz: 2\n  on_q: 3\n";
        assert_eq!(line_of_child(text, "hooks", "on_x"), Some(5));
        assert_eq!(line_of_child(text, "hooks", "on_y"), Some(4));
        assert_eq!(line_of_child(text, "hooks", "on_q"), None);
    }
}
