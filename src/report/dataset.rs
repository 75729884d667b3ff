//! `findings/`: the findings as a Hive-partitioned Parquet dataset, one part per account
//! (`findings/account_id=<id>/part-0.parquet`), for engines that read a folder of partitions
//! (DuckDB, Athena, Spark, polars). Built aside and swapped in whole, like `recommendations/`,
//! so the folder is always one run's complete dataset.

use std::fs;
use std::path::{Path, PathBuf};

use crate::analysis::{self, Analysis, Dataset, DatasetPart, PARTITION_COLUMN};
use crate::error::{Error, Result};
use crate::files::{replace_dir, temp_path, write_atomic};

/// The dataset's folder in the report folder.
pub const DIR: &str = "findings";

/// The file of each part.
pub const PART_FILE: &str = "part-0.parquet";

/// The folder of one account's part: `account_id=<id>`. Only a 12-digit account id is accepted
/// (it becomes a path component, and needs no Hive escaping).
pub fn part_dir(account_id: &str) -> Result<String> {
    if account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!("{PARTITION_COLUMN}={account_id}"))
    } else {
        Err(Error::Analysis(format!(
            "account id {account_id:?} is not 12 digits: it cannot name a partition of {DIR}/"
        )))
    }
}

/// Writes `out_dir/findings/`, replacing the previous run's dataset whole; returns its path.
pub fn write_findings_dataset(an: &Analysis<'_>, out_dir: &Path) -> Result<PathBuf> {
    let dest = out_dir.join(DIR);
    let tmp = temp_path(&dest);
    let result = (|| {
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| Error::write(&tmp, e))?;
        }
        fs::create_dir_all(&tmp).map_err(|e| Error::write(&tmp, e))?;
        // A part names its findings by 32-bit index (`findings_dataset`): the analysis' own
        // bound, checked again for an analysis not made by `analysis::analyze*`.
        analysis::within_index(an.findings.len())?;
        let dataset = analysis::findings_dataset(an);
        // Parts are independent files: written in parallel, each the same whatever the order.
        let results = crate::parallel::map_indexed(
            dataset.parts.len(),
            || (),
            |(), i| write_part(an, &dataset, &dataset.parts[i], &tmp),
        );
        for r in results {
            r?;
        }
        // A note saved in the folder while the run went on is not replaced. (No list of what
        // the run wrote, `files::OWN_LIST`, in a dataset: an engine given the folder reads every
        // file in it, and polars refuses a folder of mixed files; its shape tells ours instead.)
        if dest.is_dir() {
            crate::files::check_own_folder(&dest, false)?;
        }
        // At every instant `findings/` is one run's complete dataset (see replace_dir).
        replace_dir(&tmp, &dest)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result.map(|()| dest)
}

fn write_part(
    an: &Analysis<'_>,
    dataset: &Dataset<'_>,
    part: &DatasetPart<'_>,
    root: &Path,
) -> Result<()> {
    let dir = root.join(part_dir(part.account_id)?);
    fs::create_dir(&dir).map_err(|e| Error::write(&dir, e))?;
    let path = dir.join(PART_FILE);
    write_atomic(&path, |w| {
        analysis::write_dataset_part(an, dataset, part, w)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_folders_are_hive_names_of_account_ids_only() {
        assert_eq!(
            part_dir("012345678901").ok().as_deref(),
            Some("account_id=012345678901")
        );
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "../../../etc",
            "12345678901a",
        ] {
            assert!(part_dir(bad).is_err(), "{bad}");
        }
    }
}
