//! Steps 1–3 of the organisation part: the organisation, its roots and accounts, the OU tree.

use super::*;

impl Walk<'_> {
    /// Step 1: `DescribeOrganization`, asked on every run, before anything is written: the
    /// organisation these credentials see, which must be `expected` (an earlier run's). Returns
    /// its id and `describe-organization.json`'s content.
    pub(super) async fn describe_organization(
        &self,
        expected: Option<&str>,
    ) -> Result<(String, Value)> {
        let rel = "describe-organization.json";
        let mut retrier = self.retrier(rel);
        let org = &self.org;
        let out = retrier
            .call("DescribeOrganization", || {
                org.describe_organization().send()
            })
            .await
            .map_err(|e| self.required(&e))?;
        let value = json::describe_organization(&out);
        let Some(id) = value["Organization"]["Id"].as_str().map(str::to_string) else {
            return Err(FetchError::Aws(
                "DescribeOrganization returned no Organization.Id".into(),
            ));
        };
        if let Some(expected) = expected
            && expected != id
        {
            return Err(FetchError::out(
                &self.dir.root,
                format!(
                    "the organisation part of {expected} (manifest.json), but these credentials \
                     see organisation {id}: give another --out (fetch never replaces one \
                     organisation's part with another's)"
                ),
            ));
        }
        Ok((id, value))
    }

    /// `describe-organization.json`, rewritten only when it changed (or with `--refresh`).
    pub(super) fn write_organization(&mut self, value: &Value) -> Result<()> {
        let rel = "describe-organization.json";
        let same = !self.cfg.refresh
            && std::fs::read(self.dir.path(rel)).is_ok_and(|kept| kept == to_cli_bytes(value));
        if same {
            self.touched.insert(rel.to_string());
            self.kept += 1;
            Ok(())
        } else {
            self.write(rel, value)
        }
    }

    /// Step 2: `list-roots.json`.
    pub(super) async fn required_roots(&mut self) -> Result<Value> {
        let rel = "list-roots.json";
        if let Some(kept) = self.keep(rel, Shape::List("Roots"))? {
            return Ok(kept);
        }
        let mut retrier = self.retrier(rel);
        let org = &self.org;
        let got = pages(
            &mut retrier,
            "ListRoots",
            |token| org.list_roots().set_next_token(token).send(),
            |p| p.next_token(),
        )
        .await
        .map_err(|e| self.required(&e))?;
        let value = json::merged("Roots", got.iter().map(|p| p.roots.as_deref()), json::root);
        self.write(rel, &value)?;
        Ok(value)
    }

    /// Step 2: `list-accounts.json`.
    pub(super) async fn required_accounts(&mut self) -> Result<()> {
        let rel = "list-accounts.json";
        if self.keep(rel, Shape::List("Accounts"))?.is_some() {
            return Ok(());
        }
        let mut retrier = self.retrier(rel);
        let org = &self.org;
        let got = pages(
            &mut retrier,
            "ListAccounts",
            |token| org.list_accounts().set_next_token(token).send(),
            |p| p.next_token(),
        )
        .await
        .map_err(|e| self.required(&e))?;
        let value = json::merged(
            "Accounts",
            got.iter().map(|p| p.accounts.as_deref()),
            json::account,
        );
        self.write(rel, &value)
    }

    /// Step 3: the tree from the roots, breadth first; returns every parent (roots, then OUs).
    pub(super) async fn tree(&mut self, roots: &[&str]) -> Result<Vec<String>> {
        let mut queue: VecDeque<String> = roots.iter().map(|r| r.to_string()).collect();
        let mut seen = BTreeSet::new();
        let mut parents = Vec::new();
        while let Some(parent) = queue.pop_front() {
            if !seen.insert(parent.clone()) {
                continue;
            }
            if !files::safe_id(&parent) || seen.len() > MAX_PARENTS {
                return Err(FetchError::Aws(format!(
                    "the organisation's tree names the parent {parent:?}, which is not a root or \
                     OU id (or has more than {MAX_PARENTS} parents)"
                )));
            }
            let ous = self.children_ous(&parent).await?;
            self.children_accounts(&parent).await?;
            queue.extend(
                ids(&ous, "OrganizationalUnits", "Id")
                    .into_iter()
                    .map(String::from),
            );
            parents.push(parent);
        }
        Ok(parents)
    }

    /// `ous/<parent>.json`.
    pub(super) async fn children_ous(&mut self, parent: &str) -> Result<Value> {
        let rel = format!("ous/{parent}.json");
        if let Some(kept) = self.keep(&rel, Shape::List("OrganizationalUnits"))? {
            return Ok(kept);
        }
        let mut retrier = self.retrier(&rel);
        let org = &self.org;
        let got = pages(
            &mut retrier,
            "ListOrganizationalUnitsForParent",
            |token| {
                org.list_organizational_units_for_parent()
                    .parent_id(parent)
                    .set_next_token(token)
                    .send()
            },
            |p| p.next_token(),
        )
        .await
        .map_err(|e| self.required(&e))?;
        let value = json::merged(
            "OrganizationalUnits",
            got.iter().map(|p| p.organizational_units.as_deref()),
            json::organizational_unit,
        );
        self.write(&rel, &value)?;
        Ok(value)
    }

    /// `accounts/<parent>.json`.
    pub(super) async fn children_accounts(&mut self, parent: &str) -> Result<()> {
        let rel = format!("accounts/{parent}.json");
        if self.keep(&rel, Shape::List("Accounts"))?.is_some() {
            return Ok(());
        }
        let mut retrier = self.retrier(&rel);
        let org = &self.org;
        let got = pages(
            &mut retrier,
            "ListAccountsForParent",
            |token| {
                org.list_accounts_for_parent()
                    .parent_id(parent)
                    .set_next_token(token)
                    .send()
            },
            |p| p.next_token(),
        )
        .await
        .map_err(|e| self.required(&e))?;
        let value = json::merged(
            "Accounts",
            got.iter().map(|p| p.accounts.as_deref()),
            json::account,
        );
        self.write(&rel, &value)
    }

    /// How many accounts the tree places (for the progress line).
    pub(super) fn placed_accounts(&self, parents: &[String]) -> usize {
        parents
            .iter()
            .filter_map(|p| std::fs::read(self.dir.path(&format!("accounts/{p}.json"))).ok())
            .filter_map(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .map(|v| v["Accounts"].as_array().map_or(0, Vec::len))
            .sum()
    }
}
