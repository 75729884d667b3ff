//! Reading the parts of an IAM ARN (`arn:PARTITION:iam::ACCOUNT:KIND/PATH/NAME`) that the
//! stages need: the account, and the name after the path.

/// The account field of an ARN (`arn:aws:iam::123456789012:role/x` → `123456789012`); `None`
/// when the text has fewer than five `:`-separated fields. AWS managed policies give `aws`.
pub fn account(arn: &str) -> Option<&str> {
    let mut fields = arn.splitn(6, ':');
    let account = fields.nth(4)?;
    fields.next().map(|_| account)
}

/// The name of the entity an ARN names: what follows the last `/` (the whole text without one).
pub fn name(arn: &str) -> &str {
    arn.rsplit_once('/').map_or(arn, |(_, name)| name)
}

/// The path of the role whose ARN is `arn` (`/` first and last), `None` for another ARN.
pub fn role_path(arn: &str) -> Option<&str> {
    let rest = &arn[arn.find(":role/")? + ":role".len()..];
    Some(&rest[..=rest.rfind('/')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_is_the_fifth_field() {
        assert_eq!(
            account("arn:aws:iam::123456789012:role/a/b"),
            Some("123456789012")
        );
        assert_eq!(
            account("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            Some("aws")
        );
        assert_eq!(
            account("arn:aws-cn:iam::000000000000:user/x:y"),
            Some("000000000000")
        );
        assert_eq!(account("arn:aws:iam::123456789012"), None);
        assert_eq!(account("not an arn"), None);
        assert_eq!(account(""), None);
    }

    #[test]
    fn name_follows_the_last_slash() {
        assert_eq!(
            name("arn:aws:iam::123456789012:role/path/to/Deploy"),
            "Deploy"
        );
        assert_eq!(name("arn:aws:iam::123456789012:role/Deploy"), "Deploy");
        assert_eq!(name("Deploy"), "Deploy");
        assert_eq!(name("arn:aws:iam::123456789012:role/"), "");
    }

    #[test]
    fn a_role_path_lies_between_role_and_the_name() {
        let sso = "/aws-reserved/sso.amazonaws.com/eu-west-1/";
        let arn = format!("arn:aws:iam::111111111111:role{sso}AWSReservedSSO_Dev_0a1b");
        assert_eq!(role_path(&arn), Some(sso));
        assert_eq!(role_path("arn:aws:iam::111111111111:role/a"), Some("/"));
        assert_eq!(role_path("arn:aws:iam::111111111111:user/a"), None);
    }
}
