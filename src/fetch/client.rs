//! SDK clients: credentials (with the AWS CLI's precedence), our HTTP client, timeouts, and no
//! SDK retries (ours are in `retry.rs`).
//!
//! Credentials, as the AWS CLI decides them: `--profile NAME` on the command line wins over
//! everything, environment keys included, and a profile that does not exist is an error.
//! Without `--profile`, the SDK's standard chain: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
//! then `AWS_PROFILE` (else `default`) from `~/.aws/config` and `~/.aws/credentials` (SSO,
//! `credential_process`, `role_arn`), web identity, ECS, EC2 instance metadata. The credentials
//! are loaded once before the first AWS call, so a missing profile or key is reported as such,
//! and where they came from is printed.

use std::time::Duration;

use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_iam::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::FetchConfig;
use super::error::{FetchError, Result};
use super::retry::{CallError, Retrier};

/// IAM is global; its endpoint (and signing region) in the `aws` partition is us-east-1's.
/// Used only when neither `--region`, the environment nor the profile names a region.
const FALLBACK_REGION: &str = "us-east-1";
/// No TCP connection within this long is a network failure (retried within the budget).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One request (a GAAD page of 1000 principals is a few MB) must be answered within this long;
/// without it a network that silently drops packets would hang the fetch.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
}

/// Who we are: from `sts:GetCallerIdentity`.
#[derive(Debug, Clone)]
pub struct Identity {
    pub account_id: String,
    pub partition: String,
    pub arn: String,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Clients {
        Clients {
            iam: aws_sdk_iam::Client::new(sdk),
            sts: aws_sdk_sts::Client::new(sdk),
        }
    }
}

/// The base configuration and where its credentials came from (for the first line printed).
pub struct Base {
    pub sdk: aws_config::SdkConfig,
    /// `environment (AWS_ACCESS_KEY_ID)`, `profile audit (--profile)`, …
    pub credentials_from: String,
    /// Where requests go, for messages: the `--endpoint-url`, or `AWS`.
    pub endpoint: String,
}

/// `--endpoint-url` must be an http(s) URL with a host.
pub fn check_endpoint_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        Some(host) if !host.is_empty() && !host.starts_with(':') => Ok(()),
        _ => Err(FetchError::Setup(format!(
            "--endpoint-url {url:?} is not an http:// or https:// URL with a host; give e.g. \
             http://127.0.0.1:5000"
        ))),
    }
}

/// The SDK configuration of the base credentials, with our HTTP client, timeouts, region and
/// endpoint; the credentials are loaded once here.
pub async fn base_config(cfg: &FetchConfig) -> Result<Base> {
    if let Some(url) = &cfg.endpoint_url {
        check_endpoint_url(url)?;
    }
    // rustls on ring: HTTPS to AWS (native roots), plain HTTP to a loopback emulator.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mode = if cfg.adaptive_retry {
        RetryConfig::adaptive()
    } else {
        RetryConfig::standard()
    };
    // One request per SDK call: every retry is ours, counted and within --retry-budget.
    let retry = mode.with_max_attempts(1);
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http.clone())
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(profile) = &cfg.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &cfg.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &cfg.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let mut sdk = loader.load().await;
    if sdk.region().is_none() {
        sdk = sdk
            .into_builder()
            .region(Region::new(FALLBACK_REGION))
            .build();
    }
    if let Some(profile) = &cfg.profile {
        // The command line wins: the profile's credentials, not the environment's keys (the
        // standard chain would try AWS_ACCESS_KEY_ID first).
        let conf = ProviderConfig::default()
            .with_http_client(http)
            .with_region(sdk.region().cloned());
        let provider = aws_config::profile::ProfileFileCredentialsProvider::builder()
            .configure(&conf)
            .profile_name(profile)
            .build();
        sdk = sdk
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
    }
    let Some(provider) = sdk.credentials_provider() else {
        return Err(FetchError::Credentials(
            "no AWS credentials provider; give --profile, or set AWS_PROFILE or \
             AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
                .into(),
        ));
    };
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| FetchError::Credentials(credentials_error(cfg, &e)))?;
    let credentials_from = describe_source(cfg, &provider_name(&credentials));
    Ok(Base {
        sdk,
        credentials_from,
        endpoint: cfg
            .endpoint_url
            .clone()
            .unwrap_or_else(|| "AWS".to_string()),
    })
}

/// The provider that produced the credentials. `Credentials` has no getter for it; its `Debug`
/// output (which redacts the secret) names it: `Credentials { provider_name: "…", … }`.
fn provider_name(credentials: &aws_sdk_iam::config::Credentials) -> String {
    let debug = format!("{credentials:?}");
    debug
        .split_once("provider_name: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(name, _)| name.to_string())
        .unwrap_or_default()
}

/// Which profile the standard chain reads, and why.
fn profile_in_use(cfg: &FetchConfig) -> String {
    match (&cfg.profile, std::env::var("AWS_PROFILE")) {
        (Some(p), _) => format!("profile {p} (--profile)"),
        (None, Ok(p)) if !p.is_empty() => format!("profile {p} (AWS_PROFILE)"),
        _ => "profile default".to_string(),
    }
}

/// Where the credentials came from, for people: `environment (AWS_ACCESS_KEY_ID)`.
fn describe_source(cfg: &FetchConfig, provider: &str) -> String {
    let profile = profile_in_use(cfg);
    match provider {
        "EnvironmentVariable" => "environment (AWS_ACCESS_KEY_ID)".to_string(),
        "ProfileFile" => profile,
        "SSO" => format!("SSO, {profile}"),
        "CredentialProcess" => format!("credential_process, {profile}"),
        "AssumeRoleProvider" => format!("role_arn, {profile}"),
        "WebIdentityToken" => "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".to_string(),
        "EcsContainer" => "container credentials (ECS)".to_string(),
        "IMDSv2" => "EC2 instance metadata (instance role)".to_string(),
        "" => "the standard credential chain".to_string(),
        other => other.to_string(),
    }
}

/// One line for credentials that could not be loaded, naming what to check.
fn credentials_error(cfg: &FetchConfig, e: &(dyn std::error::Error + 'static)) -> String {
    let mut causes = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        let text = text.lines().next().unwrap_or_default().trim().to_string();
        if !text.is_empty() && !causes.contains(&text) {
            causes.push(text);
        }
        next = err.source();
    }
    let cause = causes.join(": ");
    match &cfg.profile {
        Some(p) => format!(
            "--profile {p}: cannot load its credentials: {cause}; check that the profile is in \
             ~/.aws/config or ~/.aws/credentials (or AWS_CONFIG_FILE / \
             AWS_SHARED_CREDENTIALS_FILE), and `aws sso login --profile {p}` for SSO"
        ),
        None => format!(
            "no usable AWS credentials: {cause}; give --profile, set AWS_PROFILE, run `aws sso \
             login`, or set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
        ),
    }
}

/// The configuration of one member account: the base configuration whose credentials come from
/// `sts:AssumeRole` into `role_arn` (session `session_name`). The SDK's `AssumeRoleProvider`
/// behind a lazy identity cache: one session for the account, renewed before it expires, so a
/// last-accessed job is generated and read by the same role session.
pub async fn assumed_config(
    base: &aws_config::SdkConfig,
    role_arn: &str,
    session_name: &str,
) -> aws_config::SdkConfig {
    let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name(session_name)
        .configure(base)
        .build()
        .await;
    base.clone()
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .build()
}

/// `sts:GetCallerIdentity` (needs no permission): the account and partition we export.
pub async fn identity(
    sts: &aws_sdk_sts::Client,
    retrier: &mut Retrier,
) -> std::result::Result<Identity, IdentityError> {
    let out = retrier
        .call("GetCallerIdentity", || sts.get_caller_identity().send())
        .await
        .map_err(IdentityError::Call)?;
    let arn = out.arn.unwrap_or_default();
    let account_id = out.account.unwrap_or_default();
    // arn:PARTITION:sts::ACCOUNT:assumed-role/…
    let partition = arn
        .split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
        .to_string();
    if !(account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit())) {
        return Err(IdentityError::Invalid(format!(
            "GetCallerIdentity returned account {account_id:?}, not a 12-digit account id"
        )));
    }
    Ok(Identity {
        account_id,
        partition,
        arn,
    })
}

/// Why `GetCallerIdentity` did not give an identity.
pub enum IdentityError {
    Call(CallError),
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_need_a_scheme_and_a_host() {
        assert!(check_endpoint_url("http://127.0.0.1:5000").is_ok());
        assert!(check_endpoint_url("https://iam.amazonaws.com/").is_ok());
        for bad in [
            "127.0.0.1:5000",
            "localhost",
            "http://",
            "ftp://x",
            "http://:80",
        ] {
            let e = check_endpoint_url(bad).err().map(|e| e.to_string());
            assert!(
                e.as_deref()
                    .is_some_and(|e| e.contains("http://127.0.0.1:5000")),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn the_provider_name_comes_from_the_redacted_debug_output() {
        let c = aws_sdk_iam::config::Credentials::new("AKIA", "secret", None, None, "ProfileFile");
        assert_eq!(provider_name(&c), "ProfileFile");
        let mut cfg = FetchConfig::new("out".into());
        cfg.profile = Some("audit".into());
        assert_eq!(
            describe_source(&cfg, &provider_name(&c)),
            "profile audit (--profile)"
        );
        assert_eq!(
            describe_source(&cfg, "EnvironmentVariable"),
            "environment (AWS_ACCESS_KEY_ID)"
        );
    }
}
