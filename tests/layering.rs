//! The module layering of docs/architecture.md, checked on the source: every `crate::<module>`
//! a module names must be one it may depend on (data flows one way), polars appears only inside
//! `analysis`, clap only in the binary, and `fetch` is imported by no analyzer module.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Each library module and what it may use (besides the foundations every module may use:
/// `error`, `files`, `parallel`, `model`). The order is the flow of docs/architecture.md.
const ALLOWED: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("files", &[]),
    ("parallel", &[]),
    ("memory", &[]),
    ("model", &[]),
    ("catalog", &[]),
    ("input", &[]),
    ("policy", &["catalog"]),
    ("analysis", &["catalog", "policy", "input"]),
    ("recommend", &["catalog", "input", "policy", "analysis"]),
    ("decisions", &["catalog", "policy", "analysis", "recommend"]),
    ("report", &["catalog", "analysis", "recommend", "decisions"]),
    ("diff", &["catalog", "analysis", "report"]),
    ("fetch", &["catalog", "input"]),
    ("fuzzing", &["catalog", "policy", "input", "analysis"]),
];

const FOUNDATIONS: [&str; 5] = ["error", "files", "parallel", "model", "memory"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The files of a top-level module (`src/<m>.rs` or `src/<m>/`).
fn files_of(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let dir = src.join(module);
    if dir.is_dir() {
        rust_files(&dir, &mut files);
    }
    let file = src.join(format!("{module}.rs"));
    if file.is_file() {
        files.push(file);
    }
    files
}

/// The `crate::<module>` names in a file (code only: comment lines are skipped, and so are unit
/// test modules, `#[cfg(test)] mod … { … }`: a test may build its fixtures with any module, e.g.
/// load the sample exports to get a report model; what ships follows the layering).
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        if code == "#[cfg(test)]"
            && let Some(next) = lines.peek()
            && next.trim_start().starts_with("mod ")
            && next.ends_with('{')
        {
            // Skip the module: to its closing brace, the first line that is only `}` at the
            // `mod` line's indentation (rustfmt's layout; braces inside strings do not count).
            let close = format!("{}}}", &next[..next.len() - next.trim_start().len()]);
            lines.next();
            for l in lines.by_ref() {
                if l == close {
                    break;
                }
            }
            continue;
        }
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() {
                refs.insert(name);
            }
        }
    }
    refs
}

#[test]
fn modules_depend_only_on_what_comes_before_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut problems = Vec::new();
    for (module, may) in ALLOWED {
        let files = files_of(&src, module);
        assert!(!files.is_empty(), "no source for module {module}");
        for f in files {
            let text = fs::read_to_string(&f).unwrap();
            for r in crate_refs(&text) {
                let ok = r == *module
                    || FOUNDATIONS.contains(&r.as_str())
                    || may.contains(&r.as_str())
                    || !allowed.contains_key(r.as_str());
                if !ok {
                    problems.push(format!("{}: uses crate::{r}", f.display()));
                }
            }
            if *module != "analysis" && text.contains("polars") {
                let uses = text
                    .lines()
                    .any(|l| !l.trim_start().starts_with("//") && l.contains("polars::"));
                if uses {
                    problems.push(format!("{}: polars outside analysis", f.display()));
                }
            }
            if text.contains("clap::") {
                problems.push(format!("{}: clap in the library", f.display()));
            }
        }
    }
    // Every top-level module is in the table.
    for e in fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if ["lib", "main", "cli", "cmd"].contains(&name.as_str()) {
            continue;
        }
        if !allowed.contains_key(name.as_str()) {
            problems.push(format!("src/{name}: not in the layering table"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_a_violation() {
    let refs = crate_refs(
        "use crate::report::page;\n// crate::fetch in a comment\nlet x = crate::analysis::Status::Used;",
    );
    assert_eq!(
        refs,
        BTreeSet::from(["analysis".to_string(), "report".to_string()])
    );
    // A unit test module is skipped to its closing brace, and only it.
    let refs = crate_refs(
        "use crate::report::page;\n#[cfg(test)]\nmod tests {\n    use crate::input;\n    fn f() {\n        crate::fetch::x(\"}\");\n    }\n}\nuse crate::decisions::Decision;",
    );
    assert_eq!(
        refs,
        BTreeSet::from(["decisions".to_string(), "report".to_string()])
    );
    // `#[cfg(test)]` on anything but a module block skips nothing.
    let refs = crate_refs("#[cfg(test)]\nuse crate::input::load;\n");
    assert_eq!(refs, BTreeSet::from(["input".to_string()]));
}

/// The library forbids unsafe code (lib.rs); the one exception in the crate is the binary's
/// `allocator` module (src/main.rs: jemalloc's `malloc_conf` symbol and its `mallctl` calls), so `allow(unsafe_code)`
/// appears exactly once, there, and lib.rs keeps its `forbid`.
#[test]
fn unsafe_code_is_only_the_allocator_call() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut allowed = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.contains("allow(unsafe_code)") {
                allowed.push(format!("{}:{}", f.display(), i + 1));
            }
        }
    }
    assert_eq!(allowed.len(), 1, "{allowed:?}");
    assert!(allowed[0].contains("src/main.rs:"), "{allowed:?}");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(lib.contains("#![forbid(unsafe_code)]"));
}
