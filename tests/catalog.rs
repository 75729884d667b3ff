//! The embedded action catalog against the raw TSV, and `--catalog FILE` loading.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;

use assert_cmd::Command;
use iam_tighten::Error;
use iam_tighten::catalog::{AccessLevel, ActionId, Catalog};
use predicates::prelude::*;

fn tsv_rows() -> Vec<(String, String, String, u16)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iam-actions.tsv");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("service\t") && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].into(), f[1].into(), f[2].into(), f[3].parse().unwrap())
        })
        .collect()
}

#[test]
fn embedded_catalog_holds_every_tsv_row() {
    let c = Catalog::embedded();
    let rows = tsv_rows();
    assert_eq!(c.len(), rows.len());
    assert_eq!(c.len(), 22_321);
    for (service, action, level, res) in &rows {
        let id = c.lookup(service, action).unwrap();
        let info = c.action(id);
        assert_eq!(
            (&*info.service, &*info.name),
            (service.as_str(), action.as_str())
        );
        assert_eq!(info.level.as_str(), level);
        assert_eq!(info.resource_types, *res);
        assert_eq!(info.takes_resources(), *res > 0);
    }
}

#[test]
fn ids_follow_lowercase_service_action_order() {
    let c = Catalog::embedded();
    let keys: Vec<(String, String)> = c
        .ids()
        .map(|id| {
            let a = c.action(id);
            (a.service.to_lowercase(), a.name.to_lowercase())
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "ids not strictly ordered"
    );
    // Each service is one contiguous range, and services() lists each once, in order.
    let services: Vec<&str> = c.services().collect();
    let mut seen = HashMap::new();
    for id in c.ids() {
        *seen
            .entry(c.action(id).service.to_string())
            .or_insert(0usize) += 1;
    }
    assert_eq!(services.len(), seen.len());
    let mut total = 0;
    for s in &services {
        let ids: Vec<ActionId> = c.service_actions(s).collect();
        assert_eq!(ids.len(), seen[*s]);
        assert!(ids.windows(2).all(|w| w[1].0 == w[0].0 + 1));
        total += ids.len();
    }
    assert_eq!(total, c.len());
}

#[test]
fn access_levels_present() {
    let c = Catalog::embedded();
    for level in AccessLevel::ALL {
        assert!(c.ids().any(|id| c.action(id).level == level), "{level}");
    }
}

#[test]
fn catalog_file_loads_and_bad_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("new.tsv");
    std::fs::write(
        &good,
        "#format\tiam-tighten-catalog/1\n#source\tlocal\n#version\t2\n#updated\t2027-01-01\n\
         service\taction\taccess_level\tresource_types\nnewsvc\tDoThing\tWrite\t0\n",
    )
    .unwrap();
    let c = Catalog::from_path(&good).unwrap();
    assert_eq!((c.len(), c.version(), c.updated()), (1, "2", "2027-01-01"));

    let bad = dir.path().join("bad.tsv");
    std::fs::write(
        &bad,
        "#format\tiam-tighten-catalog/1\nservice\taction\taccess_level\tresource_types\n\
         s3\tGetObject\tRead\t1\ns3\tPutObject\tWritey\t1\n",
    )
    .unwrap();
    match Catalog::from_path(&bad) {
        Err(Error::Catalog {
            source_name, line, ..
        }) => {
            assert!(source_name.ends_with("bad.tsv"));
            assert_eq!(line, 4);
        }
        other => panic!("{other:?}"),
    }
    let missing = Catalog::from_path(&dir.path().join("none.tsv")).unwrap_err();
    assert!(matches!(missing, Error::Read { .. }));

    Command::cargo_bin("iam-tighten")
        .unwrap()
        .args(["expand", "--catalog"])
        .arg(&good)
        .arg("newsvc:*")
        .assert()
        .success()
        .stdout("newsvc:DoThing\tWrite\n");
    Command::cargo_bin("iam-tighten")
        .unwrap()
        .args(["expand", "--catalog"])
        .arg(&bad)
        .arg("s3:*")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.tsv").and(predicate::str::contains("line 4")));
}

#[test]
fn version_mentions_catalog() {
    let c = Catalog::embedded();
    Command::cargo_bin("iam-tighten")
        .unwrap()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(c.source()).and(predicate::str::contains(c.updated())));
}
