//! parse-only: the benchmark's baseline (issue 9). Reads every input file of an export (or an
//! organisation folder of exports) and parses it, and nothing else: each `*.json` with serde_json
//! into a `serde_json::Value`, each `credential-report.csv` with the csv crate into records.
//! Single-threaded, like the tool's loader.
//!
//! ```text
//! cargo run --release --example parse-only -- DIR [DIR...]
//! ```
//!
//! Prints `parse-only files=N bytes=B json_values=V csv_records=R ms=T` on stdout.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Counts nodes, so the parsed value is used and cannot be optimised away.
fn nodes(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(nodes).sum::<u64>(),
        serde_json::Value::Object(o) => 1 + o.values().map(nodes).sum::<u64>(),
        _ => 1,
    }
}

fn main() -> anyhow::Result<()> {
    let dirs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        anyhow::bail!("usage: parse-only DIR [DIR...]");
    }
    let started = std::time::Instant::now();
    let mut files = Vec::new();
    for d in &dirs {
        walk(d, &mut files)?;
    }
    let (mut n, mut bytes, mut values, mut records) = (0u64, 0u64, 0u64, 0u64);
    for f in &files {
        let name = f.file_name().and_then(|s| s.to_str()).unwrap_or_default();
        if name.ends_with(".json") {
            let data = fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            let v: serde_json::Value = serde_json::from_slice(&data)
                .with_context(|| format!("parsing {}", f.display()))?;
            values += nodes(&v);
            bytes += data.len() as u64;
            n += 1;
        } else if name == "credential-report.csv" {
            let data = fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(data.as_slice());
            for rec in rdr.records() {
                records += rec?.len() as u64;
            }
            bytes += data.len() as u64;
            n += 1;
        }
    }
    println!(
        "parse-only files={n} bytes={bytes} json_values={values} csv_fields={records} ms={}",
        started.elapsed().as_millis()
    );
    Ok(())
}
