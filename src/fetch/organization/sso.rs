//! Step 5 of the organisation part: IAM Identity Center instances and their permission sets.

use super::*;

impl Walk<'_> {
    /// Step 5: IAM Identity Center. No instance is a note; a refused or failed `ListInstances`
    /// is recorded as missing; neither fails the part.
    pub(super) async fn identity_center(&mut self) -> Result<()> {
        let rel = "sso/list-instances.json";
        let (listing, fetched) = match self.keep(rel, Shape::List("Instances"))? {
            Some(kept) => (kept, false),
            None => {
                let mut retrier = self.retrier(rel);
                let sso = &self.sso;
                let got = pages(
                    &mut retrier,
                    "ListInstances",
                    |token| sso.list_instances().set_next_token(token).send(),
                    |p| p.next_token(),
                )
                .await;
                match got {
                    Ok(got) => (
                        json::merged(
                            "Instances",
                            got.iter().map(|p| p.instances.as_deref()),
                            json::instance,
                        ),
                        true,
                    ),
                    Err(e) => {
                        let what = "IAM Identity Center (its permission sets are not in the \
                                    organisation part): ";
                        return self.optional(rel, what, &e);
                    }
                }
            }
        };
        let instances: Vec<String> = ids(&listing, "Instances", "InstanceArn")
            .into_iter()
            .map(String::from)
            .collect();
        if instances.is_empty() {
            let note = format!(
                "no IAM Identity Center instance in region {}: no permission sets are written \
                 (Identity Center is regional: if the organisation uses it, give --region its \
                 home region)",
                self.region
            );
            self.ctx
                .console
                .line(&format!("fetch: organization: sso/: {note}"));
            self.notes.insert("sso/".into(), note);
        }
        let mut complete = true;
        for arn in &instances {
            complete &= self.instance(arn).await?;
        }
        if !complete {
            self.drop_listing(rel)?;
        } else if fetched {
            self.write(rel, &listing)?;
        }
        Ok(())
    }

    /// One instance: every permission set's files, then `list-permission-sets.json`. Returns
    /// whether it is complete.
    pub(super) async fn instance(&mut self, arn: &str) -> Result<bool> {
        let instance = arn_id(arn);
        let rel = format!("sso/{instance}/list-permission-sets.json");
        if !files::safe_id(instance) {
            self.missing.insert(
                rel,
                format!("ListInstances names the instance {arn:?}, whose id is not an id"),
            );
            return Ok(false);
        }
        let (listing, fetched) = match self.keep(&rel, Shape::List("PermissionSets"))? {
            Some(kept) => (kept, false),
            None => {
                let mut retrier = self.retrier(&rel);
                let sso = &self.sso;
                let got = pages(
                    &mut retrier,
                    "ListPermissionSets",
                    |token| {
                        sso.list_permission_sets()
                            .instance_arn(arn)
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await;
                match got {
                    Ok(got) => (
                        json::merged(
                            "PermissionSets",
                            got.iter().map(|p| p.permission_sets.as_deref()),
                            json::string,
                        ),
                        true,
                    ),
                    Err(e) => {
                        self.optional(&rel, "", &e)?;
                        return Ok(false);
                    }
                }
            }
        };
        let sets: Vec<String> = listing["PermissionSets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(String::from))
            .collect();
        for (n, ps_arn) in sets.iter().enumerate() {
            if let Err(why) = self.permission_set(arn, ps_arn).await? {
                self.drop_listing(&rel)?;
                self.missing.insert(rel, why);
                return Ok(false);
            }
            let done = n + 1;
            if done % self.cfg.progress_every.max(1) == 0 && done < sets.len() {
                self.ctx.console.line(&format!(
                    "fetch: organization: {instance}: {done}/{} permission sets",
                    sets.len()
                ));
            }
        }
        if fetched {
            self.write(&rel, &listing)?;
        }
        self.ctx.console.line(&format!(
            "fetch: organization: IAM Identity Center {instance}: {} permission sets",
            sets.len()
        ));
        Ok(true)
    }

    /// The six files of one permission set (`permissions-boundary.json` only when it has one).
    /// `Ok(Err(why))`: one could not be fetched (the instance's listing is then not written).
    pub(super) async fn permission_set(
        &mut self,
        instance_arn: &str,
        ps_arn: &str,
    ) -> Result<std::result::Result<(), String>> {
        let instance = arn_id(instance_arn);
        let ps = arn_id(ps_arn);
        if !files::safe_id(ps) {
            return Ok(Err(format!(
                "ListPermissionSets names {ps_arn:?}, whose id is not an id"
            )));
        }
        for name in PERMISSION_SET_FILES {
            let rel = format!("sso/{instance}/{ps}/{name}");
            let shape = match name {
                "describe-permission-set.json" => Shape::Object("PermissionSet"),
                "inline-policy.json" => Shape::Text("InlinePolicy"),
                "managed-policies.json" => Shape::List("AttachedManagedPolicies"),
                "customer-managed-policies.json" => Shape::List("CustomerManagedPolicyReferences"),
                "permissions-boundary.json" => Shape::Object("PermissionsBoundary"),
                _ => Shape::List("AccountIds"),
            };
            if self.keep(&rel, shape)?.is_some() {
                continue;
            }
            let mut retrier = self.retrier(&rel);
            let got = self
                .permission_set_file(name, instance_arn, ps_arn, &mut retrier)
                .await;
            match got {
                Ok(Some(value)) => self.write(&rel, &value)?,
                // No permissions boundary: no file.
                Ok(None) => {}
                Err(e) => match e.severity() {
                    Severity::AccessDenied | Severity::Principal => {
                        let why = format!("{ps}/{name}: {}", e.describe(&self.ctx.endpoint));
                        self.ctx
                            .console
                            .line(&format!("fetch: organization: not fetched: {rel}: {why}"));
                        return Ok(Err(why));
                    }
                    _ => {
                        return Err(super::super::fatal(
                            &e,
                            &self.ctx.endpoint,
                            Some(&self.dir.root),
                        ));
                    }
                },
            }
        }
        Ok(Ok(()))
    }

    /// One file of a permission set, as the CLI prints it; `None` for a permissions boundary
    /// the set does not have (`ResourceNotFoundException`).
    pub(super) async fn permission_set_file(
        &self,
        name: &str,
        instance_arn: &str,
        ps_arn: &str,
        retrier: &mut Retrier,
    ) -> std::result::Result<Option<Value>, CallError> {
        let sso = &self.sso;
        Ok(Some(match name {
            "describe-permission-set.json" => {
                let out = retrier
                    .call("DescribePermissionSet", || {
                        sso.describe_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .send()
                    })
                    .await?;
                json::describe_permission_set(&out)
            }
            "inline-policy.json" => {
                let out = retrier
                    .call("GetInlinePolicyForPermissionSet", || {
                        sso.get_inline_policy_for_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .send()
                    })
                    .await?;
                json::inline_policy(&out)
            }
            "managed-policies.json" => {
                let got = pages(
                    retrier,
                    "ListManagedPoliciesInPermissionSet",
                    |token| {
                        sso.list_managed_policies_in_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await?;
                json::merged(
                    "AttachedManagedPolicies",
                    got.iter().map(|p| p.attached_managed_policies.as_deref()),
                    json::attached_managed_policy,
                )
            }
            "customer-managed-policies.json" => {
                let got = pages(
                    retrier,
                    "ListCustomerManagedPolicyReferencesInPermissionSet",
                    |token| {
                        sso.list_customer_managed_policy_references_in_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await?;
                json::merged(
                    "CustomerManagedPolicyReferences",
                    got.iter()
                        .map(|p| p.customer_managed_policy_references.as_deref()),
                    json::customer_managed_policy_reference,
                )
            }
            "permissions-boundary.json" => {
                let got = retrier
                    .call("GetPermissionsBoundaryForPermissionSet", || {
                        sso.get_permissions_boundary_for_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .send()
                    })
                    .await;
                match got {
                    Ok(out) => json::permissions_boundary(&out),
                    Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
            _ => {
                let got = pages(
                    retrier,
                    "ListAccountsForProvisionedPermissionSet",
                    |token| {
                        sso.list_accounts_for_provisioned_permission_set()
                            .instance_arn(instance_arn)
                            .permission_set_arn(ps_arn)
                            .set_next_token(token)
                            .send()
                    },
                    |p| p.next_token(),
                )
                .await?;
                json::merged(
                    "AccountIds",
                    got.iter().map(|p| p.account_ids.as_deref()),
                    json::string,
                )
            }
        }))
    }
}
