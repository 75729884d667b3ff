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
