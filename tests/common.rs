//! Helpers every test module shares.

use std::path::Path;

use sha2::{Digest, Sha256};

/// Writes an executable file (mode 755) at `path` holding `text`, through `install` in a child
/// process, so that no descriptor of it open for writing is ever held by this process. The tests
/// of one binary run on many threads: one that spawns a command while another thread has the
/// file open for writing hands that child a copy of the descriptor until it execs, and running
/// the file meanwhile fails with `Text file busy` (ETXTBSY), as it did in CI.
pub fn write_executable(path: &Path, text: &str) {
    let source = path.with_extension("source");
    std::fs::write(&source, text).expect("write");
    let status = std::process::Command::new("install")
        .args(["-m", "755"])
        .arg(&source)
        .arg(path)
        .status()
        .expect("install runs");
    assert!(status.success(), "install {}", path.display());
    std::fs::remove_file(&source).expect("remove");
}

/// Changes the JSON file at `path` in place: parsed, given to `edit`, written back compact.
pub fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
    edit(&mut doc);
    std::fs::write(path, serde_json::to_vec(&doc).expect("json")).expect("write");
}

/// Copies the folder `from` to `to` (created), recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("dir entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// The SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    format!("{:x}", Sha256::digest(bytes.as_ref()))
}

/// The SHA-256 of the file at `path`, in lower-case hex.
pub fn sha256_file(path: &Path) -> String {
    sha256_hex(std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Runs `tests/browser/run.sh` with `args` (Debian chromium driven by playwright-core, offline)
/// and asserts that every check passed. Returns false, having run nothing, when chromium, node or
/// the browser test's node_modules are missing, unless IAM_TIGHTEN_REQUIRE_BROWSER is set (CI),
/// which makes their absence a failure.
pub fn real_browser_test(args: &[&std::ffi::OsStr]) -> bool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let have = |cmd: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {cmd}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ready = have("chromium")
        && have("node")
        && root
            .join("tests/browser/node_modules/playwright-core")
            .is_dir();
    if !ready {
        assert!(
            std::env::var_os("IAM_TIGHTEN_REQUIRE_BROWSER").is_none(),
            "IAM_TIGHTEN_REQUIRE_BROWSER is set but chromium, node or tests/browser/node_modules is missing \
             (run: apt-get install chromium && (cd tests/browser && npm ci))"
        );
        eprintln!("skipped: chromium/node/playwright-core not installed (see docs/html-report.md)");
        return false;
    }
    let run = std::process::Command::new("bash")
        .arg(root.join("tests/browser/run.sh"))
        .args(args)
        .output()
        .expect("run the browser test");
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    true
}

/// Every file under `dir` (relative path → SHA-256).
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, sha256_file(&p));
            }
        }
    }
    out
}

/// `Planned::drop_verification_inputs` changes no output: `full` and `slim` (the same plans,
/// `slim` after the call) write the same folders, summary and decisions (from `decide`), and
/// what it drops was there in `full` and is gone from `slim` (an inline policy's original
/// statements; a managed policy's original is shared with the export and stays).
pub fn same_outputs_without_verification_inputs(
    an: &iam_tighten::analysis::Analysis<'_>,
    full: &iam_tighten::recommend::Planned,
    slim: &iam_tighten::recommend::Planned,
    decide: impl Fn(&iam_tighten::recommend::Planned) -> serde_json::Value,
) {
    use iam_tighten::policy::PolicyDocument;
    assert!(
        full.plans.iter().any(|p| !p.sets.remove.is_empty()
            && !p.sets.needed.is_empty()
            && p.policies
                .iter()
                .any(|x| !x.new_document().statements.is_empty()
                    && !x.original().statements.is_empty())),
        "the plans must hold what the call drops"
    );
    for p in &slim.plans {
        assert!(
            p.sets.remove.is_empty() && p.sets.needed.is_empty(),
            "{}",
            p.name
        );
        for x in &p.policies {
            assert_eq!(*x.new_document(), PolicyDocument::default(), "{}", p.name);
            // A managed policy's original is the export's own document (shared, it costs the
            // plan nothing and is left whole); an inline policy's is the plan's copy.
            if x.policy.kind == iam_tighten::policy::PolicyKind::Inline {
                assert!(x.original().statements.is_empty(), "{}", p.name);
            }
            assert!(x.tightened.parts.rewritten.is_empty(), "{}", p.name);
        }
    }
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    full.write(an, a.path()).unwrap();
    slim.write(an, b.path()).unwrap();
    let (a, b) = (tree(a.path()), tree(b.path()));
    assert!(a.len() > 5, "{a:?}");
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_value(&full.summary).unwrap(),
        serde_json::to_value(&slim.summary).unwrap()
    );
    assert_eq!(decide(full), decide(slim));
}

/// The example generator, built by `cargo test` beside the test binary.
pub fn synth_export() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(std::path::Path::parent).unwrap();
    let bin = dir
        .join("examples")
        .join(format!("synth-export{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: `cargo test` builds the examples (or run `cargo build --example synth-export`)",
        bin.display()
    );
    bin
}
