//! SDK clients: the standard credential chain, our HTTP client, retries.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::FetchConfig;
use super::error::{FetchError, Result};
use super::retry::{self, Backoff};

/// IAM is global; its endpoint (and signing region) in the `aws` partition is us-east-1's.
/// Used only when neither `--region`, the environment nor the profile names a region.
const FALLBACK_REGION: &str = "us-east-1";

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

/// Builds the clients. Credentials come from the standard chain (env, `--profile`/shared files,
/// SSO, `credential_process`, web identity, ECS, IMDS); nothing is cached or written by us.
pub async fn connect(cfg: &FetchConfig) -> Result<Clients> {
    Ok(Clients::new(&base_config(cfg).await?))
}

/// The SDK configuration of the base credentials (the standard chain), with our HTTP client,
/// retries, region and endpoint.
pub async fn base_config(cfg: &FetchConfig) -> Result<aws_config::SdkConfig> {
    // rustls on ring: HTTPS to AWS (native roots), plain HTTP to a loopback emulator.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mode = if cfg.adaptive_retry {
        RetryConfig::adaptive()
    } else {
        RetryConfig::standard()
    };
    let retry = mode
        .with_max_attempts(cfg.max_attempts.max(1))
        .with_initial_backoff(cfg.backoff.base)
        .with_max_backoff(cfg.backoff.cap.max(Duration::from_millis(1)));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry);
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
    if sdk.credentials_provider().is_none() {
        return Err(FetchError::Setup(
            "no AWS credentials provider: set AWS_PROFILE / --profile, or AWS_ACCESS_KEY_ID".into(),
        ));
    }
    Ok(sdk)
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
        .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
            provider,
        ))
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .build()
}

/// `sts:GetCallerIdentity` (needs no permission): the account and partition we export.
pub async fn identity(sts: &aws_sdk_sts::Client, backoff: &Backoff) -> Result<Identity> {
    identity_or(sts, backoff, |e| {
        FetchError::Setup(format!(
            "{e}\n  no usable AWS credentials? Check --profile / AWS_PROFILE, `aws sso login`, \
             or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables"
        ))
    })
    .await
}

/// [`identity`], with the caller's own error for a failed call (e.g. an AssumeRole refused).
pub async fn identity_or(
    sts: &aws_sdk_sts::Client,
    backoff: &Backoff,
    on_error: impl FnOnce(retry::CallError) -> FetchError,
) -> Result<Identity> {
    let out = retry::call("GetCallerIdentity", backoff, || {
        sts.get_caller_identity().send()
    })
    .await
    .map_err(on_error)?;
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
        return Err(FetchError::Setup(format!(
            "GetCallerIdentity returned account {account_id:?}, not a 12-digit account id"
        )));
    }
    Ok(Identity {
        account_id,
        partition,
        arn,
    })
}
