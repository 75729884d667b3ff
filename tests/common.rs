//! Helpers every test module shares.

use std::path::Path;

use sha2::{Digest, Sha256};

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
