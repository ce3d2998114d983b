#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Issue 15, "layers that only point down": every `crate::<module>` reference in `src/`
//! points to the module's own layer or below, and the top-level modules of one layer form
//! no cycle (nor do the helpers inside one module). The layer table is read from the
//! `# Layers` block of `src/lib.rs`, so the documented map and this check cannot drift
//! apart.
//!
//! Only paths are checked (`crate::…`, and `super::…` between helpers; in `use` lines
//! and in code, grouped `use crate::{…}` included); comments, doc comments and string
//! literals are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Imports from a higher layer still waiting for their fix, as (file under `src/`, the
/// module it imports). Each one is named so the list only shrinks: an entry no longer
/// needed fails the test too.
const ALLOWED_UPWARD: &[(&str, &str)] = &[];

/// One `crate::<target>` reference: where it is and what it names.
struct Reference {
    file: String,
    line: usize,
    target: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The layer of every top-level module, from the first ```` ```text ```` block after the
/// `# Layers` heading of lib.rs: one layer per line, `N name: module, module, …`.
fn layer_table() -> BTreeMap<String, usize> {
    let lib = fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    let heading = doc
        .iter()
        .position(|line| *line == "# Layers")
        .expect("lib.rs has a `# Layers` section");
    let mut lines = doc
        .iter()
        .skip(heading)
        .skip_while(|line| **line != "```text");
    assert_eq!(
        lines.next(),
        Some(&"```text"),
        "the layer table is a ```text block"
    );
    let mut table = BTreeMap::new();
    for line in lines.take_while(|line| **line != "```") {
        let (head, modules) = line.split_once(':').expect("`N name: modules`");
        let layer: usize = head.split_whitespace().next().unwrap().parse().unwrap();
        for module in modules.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            let previous = table.insert(module.to_owned(), layer);
            assert!(previous.is_none(), "{module} is in the layer table twice");
        }
    }
    assert!(!table.is_empty(), "the layer table is empty");
    table
}

/// `path` under `src`, with forward slashes (`engine/state.rs`).
fn relative_to(src: &Path, path: &Path) -> String {
    path.strip_prefix(src)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments and string/char literals blanked out (newlines kept, so line
/// numbers stay right).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !ident_before(&chars, i) {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            let body_start = i + 2 + hashes;
            let rest: String = chars[body_start..].iter().collect();
            let end = rest.find(&close).map_or(chars.len(), |at| {
                body_start + rest[..at].chars().count() + close.chars().count()
            });
            out.extend(chars[i..end].iter().map(|c| blank(*c)));
            i = end;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let step = if chars[i] == '\\' { 2 } else { 1 };
                out.extend(
                    chars[i..(i + step).min(chars.len())]
                        .iter()
                        .map(|c| blank(*c)),
                );
                i += step;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            let end = (i + 2..chars.len())
                .find(|j| chars[*j] == '\'')
                .unwrap_or(i);
            out.extend(chars[i..=end].iter().map(|c| blank(*c)));
            i = end + 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            out.push_str("   ");
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0
        && chars
            .get(i - 1)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The top-level modules a file's code names through `crate::`, with their lines.
fn references(file: &str, code: &str) -> Vec<Reference> {
    references_after(file, code, "crate::")
}

/// The first path segment after each `prefix` (a whole path start: not preceded by an
/// identifier or `::`), with its line.
fn references_after(file: &str, code: &str, prefix: &str) -> Vec<Reference> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        let rest = code[at + prefix.len()..].trim_start();
        let names = if let Some(group) = rest.strip_prefix('{') {
            group_heads(group)
        } else {
            vec![rest.chars().take_while(|c| is_ident(*c)).collect()]
        };
        let line = code[..at].matches('\n').count() + 1;
        for target in names.into_iter().filter(|name| !name.is_empty()) {
            found.push(Reference {
                file: file.to_owned(),
                line,
                target,
            });
        }
    }
    found
}

/// The first segment of each item of a `crate::{a::x, b, c::{y, z}}` group.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => expect_head = true,
            c if expect_head && depth == 0 && is_ident(c) => {
                heads.push(group[at..].chars().take_while(|c| is_ident(*c)).collect());
                expect_head = false;
            }
            _ => {}
        }
    }
    heads
}

/// Modules whose helpers still import each other in a cycle, with the reason.
const ALLOWED_HELPER_CYCLES: &[&str] = &[];

/// The submodule references inside each top-level module: (top module, file under it,
/// references to sibling submodules through `super::…` or `crate::<top>::…`). Test code
/// (`tests.rs`, `#[cfg(test)] mod tests`) is left out: tests may reach anywhere.
fn helper_references() -> BTreeMap<String, Vec<Reference>> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut by_module: BTreeMap<String, Vec<Reference>> = BTreeMap::new();
    for path in files {
        let relative = relative_to(&src, &path);
        let parts: Vec<&str> = relative.split('/').collect();
        let [top, inner @ ..] = parts.as_slice() else {
            continue;
        };
        if inner.is_empty() || inner == ["mod.rs"] || inner.contains(&"tests.rs") {
            continue;
        }
        let mut code = code_only(&fs::read_to_string(&path).unwrap());
        if let Some(at) = code.find("#[cfg(test)]\nmod tests") {
            code.truncate(at);
        }
        let depth = inner.len() - usize::from(inner.last() == Some(&"mod.rs"));
        let mut refs = references_after(&relative, &code, &"super::".repeat(depth));
        refs.extend(references_after(
            &relative,
            &code,
            &format!("crate::{top}::"),
        ));
        by_module.entry((*top).to_owned()).or_default().extend(refs);
    }
    by_module
}

fn submodule_of(file: &str) -> &str {
    file.split('/')
        .nth(1)
        .unwrap_or(file)
        .trim_end_matches(".rs")
}

#[test]
fn helpers_within_a_module_point_one_way() {
    let mut cycles = Vec::new();
    let mut stale = Vec::new();
    for (top, refs) in helper_references() {
        let siblings: BTreeSet<&str> = refs.iter().map(|r| submodule_of(&r.file)).collect();
        let mut edges: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
        for reference in &refs {
            let (from, to) = (submodule_of(&reference.file), reference.target.as_str());
            if from != to && (siblings.contains(to) || is_submodule(&top, to)) {
                edges
                    .entry(from)
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| format!("src/{}:{}", reference.file, reference.line));
            }
        }
        let found: Vec<String> = edges
            .keys()
            .filter_map(|start| cycle_from(start, &edges))
            .map(|path| describe_cycle(&path, &edges))
            .collect();
        match (
            found.is_empty(),
            ALLOWED_HELPER_CYCLES.contains(&top.as_str()),
        ) {
            (false, false) => cycles.push(format!("{top}: {}", found.join("\n  "))),
            (true, true) => stale.push(top),
            _ => {}
        }
    }
    assert!(cycles.is_empty(), "helper cycles:\n{}", cycles.join("\n"));
    assert!(
        stale.is_empty(),
        "allow-listed modules without a cycle now: {stale:?}"
    );
}

fn is_submodule(top: &str, name: &str) -> bool {
    let dir = src_dir().join(top);
    dir.join(format!("{name}.rs")).is_file() || dir.join(name).join("mod.rs").is_file()
}

fn describe_cycle(path: &[&str], edges: &BTreeMap<&str, BTreeMap<&str, String>>) -> String {
    path.windows(2)
        .map(|pair| format!("{} -> {} ({})", pair[0], pair[1], edges[pair[0]][pair[1]]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every reference from every module file (lib.rs and main.rs are the roots, not modules).
fn all_references() -> (Vec<Reference>, BTreeSet<String>) {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut modules = BTreeSet::new();
    let mut refs = Vec::new();
    for path in files {
        let relative = relative_to(&src, &path);
        if relative == "lib.rs" || relative == "main.rs" {
            continue;
        }
        let top = relative
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        modules.insert(top);
        let code = code_only(&fs::read_to_string(&path).unwrap());
        refs.extend(references(&relative, &code));
    }
    (refs, modules)
}

fn top_of(file: &str) -> &str {
    file.split('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".rs")
}

#[test]
fn every_module_has_a_layer() {
    let table = layer_table();
    let (_, modules) = all_references();
    let missing: Vec<_> = modules.iter().filter(|m| !table.contains_key(*m)).collect();
    let stale: Vec<_> = table.keys().filter(|m| !modules.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "modules without a layer in lib.rs: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "layers name modules that do not exist: {stale:?}"
    );
    assert_eq!(table.get("core"), Some(&0), "core is the bottom layer");
}

#[test]
fn imports_point_down() {
    let table = layer_table();
    let (refs, _) = all_references();
    let mut used_allowances = BTreeSet::new();
    let mut violations = Vec::new();
    for reference in &refs {
        let from = top_of(&reference.file);
        let (Some(&own), Some(&target)) = (table.get(from), table.get(&reference.target)) else {
            continue;
        };
        if target <= own {
            continue;
        }
        let key = (reference.file.as_str(), reference.target.as_str());
        if ALLOWED_UPWARD.contains(&key) {
            used_allowances.insert(key);
            continue;
        }
        violations.push(format!(
            "src/{}:{}: {from} (layer {own}) imports crate::{} (layer {target})",
            reference.file, reference.line, reference.target
        ));
    }
    let unused: Vec<_> = ALLOWED_UPWARD
        .iter()
        .filter(|entry| !used_allowances.contains(*entry))
        .collect();
    assert!(
        violations.is_empty(),
        "imports from a higher layer:\n{}",
        violations.join("\n")
    );
    assert!(
        unused.is_empty(),
        "allow-list entries no longer needed: {unused:?}"
    );
}

#[test]
fn no_cycles_within_a_layer() {
    let table = layer_table();
    let (refs, _) = all_references();
    // module -> (module it imports -> first place it does).
    let mut edges: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    for reference in &refs {
        let from = top_of(&reference.file);
        let to = reference.target.as_str();
        if from != to && table.contains_key(from) && table.get(from) == table.get(to) {
            edges
                .entry(from)
                .or_default()
                .entry(to)
                .or_insert_with(|| format!("src/{}:{}", reference.file, reference.line));
        }
    }
    let mut cycles = Vec::new();
    for start in edges.keys() {
        if let Some(path) = cycle_from(start, &edges) {
            cycles.push(describe_cycle(&path, &edges));
        }
    }
    assert!(
        cycles.is_empty(),
        "cycles within a layer:\n{}",
        cycles.join("\n")
    );
}

/// A path `start -> … -> start` through `edges`, if there is one.
fn cycle_from<'a>(
    start: &'a str,
    edges: &BTreeMap<&'a str, BTreeMap<&'a str, String>>,
) -> Option<Vec<&'a str>> {
    let mut stack = vec![vec![start]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = *path.last().unwrap();
        for next in edges.get(last).into_iter().flat_map(BTreeMap::keys) {
            let mut longer = path.clone();
            longer.push(next);
            if *next == start {
                return Some(longer);
            }
            if seen.insert(*next) {
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn the_reader_sees_through_comments_and_groups() {
    let code = code_only(
        "use crate::{a::X, b, c::{d, e}};\n// crate::f\nlet s = \"crate::g\"; /* crate::h */\n\
         let c = '\"'; crate::i::j();\n",
    );
    let names: Vec<_> = references("x.rs", &code)
        .into_iter()
        .map(|r| (r.target, r.line))
        .collect();
    let expected = [("a", 1), ("b", 1), ("c", 1), ("i", 4)];
    let expected: Vec<_> = expected
        .iter()
        .map(|(n, l)| ((*n).to_owned(), *l))
        .collect();
    assert_eq!(names, expected);
}
