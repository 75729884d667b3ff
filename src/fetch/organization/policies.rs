//! Step 4 of the organisation part: SCPs and RCPs of each type enabled in the root, with their
//! documents and targets.

use super::*;

impl Walk<'_> {
    /// Step 4 for one policy type: each listed policy's `policy/` and `targets/` files, then
    /// `policies/<TYPE>.json`. A type not enabled in the root gets no file and a note; a policy
    /// that cannot be read leaves the listing unwritten and is recorded as missing.
    pub(super) async fn policies(
        &mut self,
        roots: &Value,
        policy_type: &'static str,
    ) -> Result<()> {
        let rel = format!("policies/{policy_type}.json");
        if let Err(why) = policy_type_status(roots, policy_type) {
            self.not_enabled(&rel, &why);
            return Ok(());
        }
        let listing = match self.keep(&rel, Shape::List("Policies"))? {
            Some(kept) => Some(kept),
            None => {
                let mut retrier = self.retrier(&rel);
                let org = &self.org;
                let filter = aws_sdk_organizations::types::PolicyType::from(policy_type);
                let got = pages(
                    &mut retrier,
                    "ListPolicies",
                    |token| {
                        org.list_policies()
                            .filter(filter.clone())
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await;
                match got {
                    Ok(got) => {
                        let value = json::merged(
                            "Policies",
                            got.iter().map(|p| p.policies.as_deref()),
                            json::policy_summary,
                        );
                        // Written after its policies' files.
                        return self.policy_files(&rel, &value, true).await;
                    }
                    Err(e) if says_not_enabled(&e) => {
                        let why = format!(
                            "{policy_type} is not enabled ({})",
                            e.describe(&self.ctx.endpoint)
                        );
                        self.not_enabled(&rel, &why);
                        return Ok(());
                    }
                    Err(e) => {
                        self.optional(&rel, "", &e)?;
                        None
                    }
                }
            }
        };
        match listing {
            Some(kept) => self.policy_files(&rel, &kept, false).await,
            None => Ok(()),
        }
    }

    pub(super) fn not_enabled(&mut self, rel: &str, why: &str) {
        let note = format!("{why}: no such policy applies, so none is written");
        self.ctx
            .console
            .line(&format!("fetch: organization: {rel}: {note}"));
        self.notes.insert(rel.to_string(), note);
    }

    /// The `policy/` and `targets/` files of every policy of `listing`; then the listing itself
    /// when `write_listing` (it was fetched) and every policy's files are there.
    pub(super) async fn policy_files(
        &mut self,
        rel: &str,
        listing: &Value,
        write_listing: bool,
    ) -> Result<()> {
        let mut count = 0;
        for id in ids(listing, "Policies", "Id") {
            if !files::safe_id(id) {
                self.drop_listing(rel)?;
                self.missing.insert(
                    rel.to_string(),
                    format!("ListPolicies names the policy {id:?}, which is not a policy id"),
                );
                return Ok(());
            }
            let describe = format!("policy/{id}.json");
            if self.keep(&describe, Shape::Object("Policy"))?.is_none() {
                let mut retrier = self.retrier(&describe);
                let org = &self.org;
                match retrier
                    .call("DescribePolicy", || {
                        org.describe_policy().policy_id(id).send()
                    })
                    .await
                {
                    Ok(out) => self.write(&describe, &json::describe_policy(&out))?,
                    Err(e) => {
                        self.drop_listing(rel)?;
                        return self.optional(rel, &format!("{describe}: "), &e);
                    }
                }
            }
            let targets = format!("targets/{id}.json");
            if self.keep(&targets, Shape::List("Targets"))?.is_none() {
                let mut retrier = self.retrier(&targets);
                let org = &self.org;
                let got = pages(
                    &mut retrier,
                    "ListTargetsForPolicy",
                    |token| {
                        org.list_targets_for_policy()
                            .policy_id(id)
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await;
                match got {
                    Ok(got) => {
                        let value = json::merged(
                            "Targets",
                            got.iter().map(|p| p.targets.as_deref()),
                            json::target,
                        );
                        self.write(&targets, &value)?;
                    }
                    Err(e) => {
                        self.drop_listing(rel)?;
                        return self.optional(rel, &format!("{targets}: "), &e);
                    }
                }
            }
            count += 1;
        }
        if write_listing {
            self.write(rel, listing)?;
        }
        self.ctx
            .console
            .line(&format!("fetch: organization: {rel}: {count} policies"));
        Ok(())
    }
}
