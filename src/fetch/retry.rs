//! Every retry of the fetch, in one place, with one budget.
//!
//! The SDK makes exactly one request per call (its `max_attempts` is 1; in adaptive mode it still
//! rate-limits the client after throttling). This layer retries what is worth retrying —
//! throttling, HTTP 429/5xx, a lost connection, a timeout — with exponential backoff and full
//! jitter (`random(0, min(cap, base · 2^n))`, AWS Architecture Blog, "Exponential Backoff And
//! Jitter"), until the caller's [`Budget`] (`--retry-budget`: total time one principal may spend
//! on failed requests and the pauses between them) is spent. Each wait is printed (the first of
//! a call, then at most one line every [`REPEAT_NOTE_AFTER`]), and the final error says how many
//! requests were really sent.
//!
//! Failures are classified once ([`Failure`]) so each cause gets its own one-line message naming
//! what to check (`describe`), never the SDK's `Debug` output.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

use super::progress::Console;

/// Error codes IAM and STS use for "slow down".
const THROTTLING_CODES: [&str; 5] = [
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
];

/// Error codes that mean "these credentials are not (or no longer) valid".
const CREDENTIAL_CODES: [&str; 9] = [
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "AuthFailure",
];

/// After the first wait of a call is printed, further waits of the same principal are printed at
/// most this often.
pub const REPEAT_NOTE_AFTER: Duration = Duration::from_secs(15);

/// The shape of our backoff.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first delay's upper bound.
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
}

impl Backoff {
    /// Full jitter: uniform in `[0, min(cap, base · 2^attempt)]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let millis = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }

    fn ceiling(&self, attempt: u32) -> Duration {
        self.base
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.cap)
    }
}

/// How long one principal (or one account-wide step) may spend on failed requests and the
/// pauses between their retries.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub limit: Duration,
    pub spent: Duration,
}

impl Budget {
    pub fn new(limit: Duration) -> Budget {
        Budget {
            limit,
            spent: Duration::ZERO,
        }
    }

    pub fn remaining(&self) -> Duration {
        self.limit.saturating_sub(self.spent)
    }
}

/// Why a request failed, as far as it matters for retrying and for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// AWS answered with an error code.
    Service {
        code: String,
        message: String,
        status: u16,
    },
    /// An HTTP answer that is not an AWS API response (a web server's 404 page, a proxy's).
    NotAws { status: Option<u16> },
    /// No answer: connection refused or reset, a name that does not resolve, a timeout.
    Network(String),
    /// The TLS handshake failed (certificates, a TLS-inspecting proxy, HTTPS to a plain port).
    Tls(String),
    /// The SDK could not load credentials for the request.
    Credentials(String),
    /// Anything else (a request that could not be built).
    Other(String),
}

impl Failure {
    /// Worth another request after a pause.
    pub fn is_transient(&self) -> bool {
        match self {
            Failure::Service {
                code,
                message,
                status,
            } => {
                THROTTLING_CODES.contains(&code.as_str())
                    || message.contains("Rate exceeded")
                    || matches!(status, 429 | 500 | 502 | 503 | 504)
            }
            Failure::Network(_) => true,
            Failure::NotAws { status } => matches!(status, Some(429 | 502 | 503 | 504)),
            Failure::Tls(_) | Failure::Credentials(_) | Failure::Other(_) => false,
        }
    }

    fn code(&self) -> Option<&str> {
        match self {
            Failure::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Short text for a "retrying" line: `Throttling: Rate exceeded`, `connection refused`.
    fn short(&self) -> String {
        match self {
            Failure::Service { code, message, .. } if message.is_empty() => code.clone(),
            Failure::Service { code, message, .. } => format!("{code}: {message}"),
            Failure::NotAws {
                status: Some(status),
            } => format!("HTTP {status} that is not an AWS API response"),
            Failure::NotAws { status: None } => "an answer that is not an AWS API response".into(),
            Failure::Network(what)
            | Failure::Tls(what)
            | Failure::Credentials(what)
            | Failure::Other(what) => what.clone(),
        }
    }
}

/// A call that failed for good.
#[derive(Debug, Clone)]
pub struct CallError {
    /// The API operation, e.g. `GenerateServiceLastAccessedDetails`.
    pub operation: &'static str,
    pub failure: Failure,
    /// Requests really sent for this call (the SDK sends one per attempt).
    pub requests: u32,
    /// Time spent on the failed requests and the pauses between them.
    pub waited: Duration,
}

/// What a failed call means for the fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// A fact about one principal (its job failed, IAM kept throttling it): record it as
    /// missing and go on.
    Principal,
    /// The credentials lack a permission: every principal would fail the same way.
    AccessDenied,
    /// The credentials are missing, unknown or expired.
    Credentials,
    /// AWS cannot be reached: stop, leave the export resumable.
    Network,
    /// The endpoint is not AWS, or the request cannot be made: stop.
    Setup,
}

impl CallError {
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.failure.code(),
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
        )
    }

    pub fn code(&self) -> Option<&str> {
        self.failure.code()
    }

    pub fn severity(&self) -> Severity {
        match &self.failure {
            _ if self.is_access_denied() => Severity::AccessDenied,
            Failure::Service { code, .. } if CREDENTIAL_CODES.contains(&code.as_str()) => {
                Severity::Credentials
            }
            Failure::Service { .. } => Severity::Principal,
            Failure::Network(_) => Severity::Network,
            Failure::Credentials(_) => Severity::Credentials,
            Failure::NotAws { .. } | Failure::Tls(_) | Failure::Other(_) => Severity::Setup,
        }
    }

    /// One line: what failed, why, and what to check. `endpoint` names where the requests went
    /// (`--endpoint-url`, or AWS).
    pub fn describe(&self, endpoint: &str) -> String {
        let tries = self.tries();
        match &self.failure {
            Failure::Service { code, .. } if CREDENTIAL_CODES.contains(&code.as_str()) => {
                let hint = if code.starts_with("Expired") {
                    "the session expired: renew it (e.g. `aws sso login`) and rerun the same \
                     command; finished principals are kept"
                } else {
                    "check --profile / AWS_PROFILE and the AWS_ACCESS_KEY_ID / \
                     AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN environment variables"
                };
                format!(
                    "{}: AWS refused the credentials ({}); {hint}",
                    self.operation,
                    self.failure.short()
                )
            }
            Failure::Service { .. } => {
                format!("{}: {}{tries}", self.operation, self.failure.short())
            }
            Failure::NotAws { status } => format!(
                "{}: {endpoint} answered {} that is not an AWS API response{tries}; check \
                 --endpoint-url / AWS_ENDPOINT_URL, --region and any proxy (HTTPS_PROXY)",
                self.operation,
                status.map_or_else(|| "with something".to_string(), |s| format!("HTTP {s}")),
            ),
            Failure::Network(what) => format!(
                "{}: cannot reach {endpoint}: {what}{tries}; check the network connection, \
                 a proxy (HTTPS_PROXY) or firewall, and --endpoint-url",
                self.operation
            ),
            Failure::Tls(what) => format!(
                "{}: TLS with {endpoint} failed: {what}; check a TLS-inspecting proxy (its CA \
                 certificate in SSL_CERT_FILE), the system's root certificates, and that the \
                 endpoint speaks HTTPS",
                self.operation
            ),
            Failure::Credentials(what) => format!(
                "{}: cannot load AWS credentials: {what}; check --profile / AWS_PROFILE, \
                 `aws sso login`, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
                self.operation
            ),
            Failure::Other(what) => format!("{}: {what}", self.operation),
        }
    }

    /// ` (gave up after 7 requests over 31 s)`, or nothing for a single request.
    fn tries(&self) -> String {
        if self.requests > 1 {
            format!(
                " (gave up after {} requests over {})",
                self.requests,
                seconds(self.waited)
            )
        } else {
            String::new()
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe("AWS"))
    }
}

/// `12 s`, `2.5 s`, `0.3 s`.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// Classifies an SDK error.
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match err {
        SdkError::ServiceError(_) => match err.code() {
            Some(code) => Failure::Service {
                code: code.to_string(),
                message: err.message().unwrap_or_default().to_string(),
                status: status.unwrap_or_default(),
            },
            None => Failure::NotAws { status },
        },
        SdkError::ResponseError(_) => Failure::NotAws { status },
        SdkError::TimeoutError(_) => Failure::Network("no answer before the timeout".into()),
        SdkError::DispatchFailure(d) => {
            let chain = chain_text(err);
            if d.is_timeout() {
                Failure::Network("no answer before the timeout".into())
            } else {
                classify_dispatch(err, &chain, d.is_io())
            }
        }
        SdkError::ConstructionFailure(_) => classify_dispatch(err, &chain_text(err), false),
        _ => Failure::Other(innermost(err)),
    }
}

/// A failure before any answer: network, TLS or credentials, told apart by the error chain.
fn classify_dispatch(err: &(dyn StdError + 'static), chain: &str, is_io: bool) -> Failure {
    let lower = chain.to_ascii_lowercase();
    if let Some(kind) = io_kind(err) {
        use std::io::ErrorKind::*;
        let what = match kind {
            ConnectionRefused => Some("connection refused"),
            ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                Some("the connection was closed before an answer")
            }
            TimedOut => Some("no answer before the timeout"),
            HostUnreachable | NetworkUnreachable | NetworkDown => Some("network unreachable"),
            _ => None,
        };
        if let Some(what) = what
            && !lower.contains("certificate")
        {
            return Failure::Network(what.into());
        }
    }
    if lower.contains("credential") || lower.contains("identity resolver") {
        return Failure::Credentials(innermost(err));
    }
    if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("received corrupt message")
        || lower.contains("invalidcontenttype")
        || lower.contains("peer is incompatible")
    {
        return Failure::Tls(innermost(err));
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        return Failure::Network(format!(
            "the host name does not resolve ({})",
            innermost(err)
        ));
    }
    if lower.contains("connection closed") || lower.contains("connection reset") {
        return Failure::Network("the connection was closed before an answer".into());
    }
    if is_io {
        return Failure::Network(innermost(err));
    }
    Failure::Other(innermost(err))
}

/// The kind of the first `std::io::Error` in the chain.
fn io_kind(err: &(dyn StdError + 'static)) -> Option<std::io::ErrorKind> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        next = e.source();
    }
    None
}

/// Every message of the chain, joined (for matching only, never printed).
fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut out = String::new();
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = next {
        out.push_str(&e.to_string());
        out.push_str(": ");
        next = e.source();
    }
    out
}

/// The innermost cause's message, one line, without ` (os error N)`: the part a person needs.
fn innermost(err: &(dyn StdError + 'static)) -> String {
    let mut last = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !text.trim().is_empty() {
            last = text;
        }
        next = e.source();
    }
    let line = last.lines().next().unwrap_or_default().trim().to_string();
    match line.rfind(" (os error ") {
        Some(at) if line.ends_with(')') => line[..at].to_string(),
        _ => line,
    }
}

/// Retries the calls of one principal (or one account-wide step) within one budget.
pub struct Retrier {
    /// Who the calls are for, in messages: `role/app-deployer`, `authorization details`.
    who: String,
    backoff: Backoff,
    budget: Budget,
    console: Console,
    last_note: Option<Instant>,
}

impl Retrier {
    pub fn new(
        who: impl Into<String>,
        backoff: Backoff,
        budget: Duration,
        console: &Console,
    ) -> Self {
        Retrier {
            who: who.into(),
            backoff,
            budget: Budget::new(budget),
            console: console.clone(),
            last_note: None,
        }
    }

    /// Calls `op` until it succeeds, fails with an error not worth retrying, or the budget is
    /// spent.
    pub async fn call<T, E, F, Fut>(
        &mut self,
        operation: &'static str,
        mut op: F,
    ) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let mut requests = 0;
        let mut waited = Duration::ZERO;
        loop {
            requests += 1;
            let started = Instant::now();
            let err = match op().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let failure = classify(&err);
            let spent = started.elapsed();
            self.budget.spent += spent;
            waited += spent;
            let remaining = self.budget.remaining();
            if !failure.is_transient() || remaining.is_zero() {
                return Err(CallError {
                    operation,
                    failure,
                    requests,
                    waited,
                });
            }
            let delay = self.backoff.delay(requests).min(remaining);
            self.note(operation, &failure, delay, requests);
            tokio::time::sleep(delay).await;
            self.budget.spent += delay;
            waited += delay;
        }
    }

    /// Prints what we are waiting on: the first wait of a call, then at most one line every
    /// [`REPEAT_NOTE_AFTER`] for this principal.
    fn note(&mut self, operation: &str, failure: &Failure, delay: Duration, requests: u32) {
        let due = requests == 1
            || self
                .last_note
                .is_none_or(|at| at.elapsed() >= REPEAT_NOTE_AFTER);
        if !due {
            return;
        }
        self.last_note = Some(Instant::now());
        self.console.line(&format!(
            "fetch: {}: {operation}: {}; retrying in {} (request {requests} failed; {} of the \
             {} retry budget used)",
            self.who,
            failure.short(),
            seconds(delay),
            seconds(self.budget.spent),
            seconds(self.budget.limit),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::error::ConnectorError;
    use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsError;

    fn service(code: &str, message: &str, status: u16) -> Failure {
        Failure::Service {
            code: code.into(),
            message: message.into(),
            status,
        }
    }

    #[test]
    fn throttling_and_lost_connections_are_transient() {
        assert!(service("Throttling", "Rate exceeded", 400).is_transient());
        assert!(service("ThrottlingException", "", 400).is_transient());
        assert!(service("Whatever", "Rate exceeded", 400).is_transient());
        assert!(service("ServiceFailure", "", 500).is_transient());
        assert!(service("X", "", 429).is_transient());
        assert!(Failure::Network("connection refused".into()).is_transient());
        assert!(!service("NoSuchEntity", "no role", 404).is_transient());
        assert!(!service("AccessDenied", "nope", 403).is_transient());
        assert!(!Failure::Tls("bad certificate".into()).is_transient());
        assert!(!Failure::NotAws { status: Some(404) }.is_transient());
    }

    #[test]
    fn full_jitter_stays_under_the_capped_ceiling() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        for attempt in 0..40 {
            let ceiling = Duration::from_millis(100 * (1u64 << attempt.min(20))).min(b.cap);
            assert!(b.delay(attempt) <= ceiling);
        }
    }

    fn dispatch(
        err: std::io::Error,
    ) -> SdkError<GetAccountAuthorizationDetailsError, HttpResponse> {
        SdkError::dispatch_failure(ConnectorError::io(Box::new(err)))
    }

    #[test]
    fn connection_errors_are_network_failures_in_one_line() {
        let refused = dispatch(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        ));
        assert_eq!(
            classify(&refused),
            Failure::Network("connection refused".into())
        );
        let e = CallError {
            operation: "GetCallerIdentity",
            failure: classify(&refused),
            requests: 4,
            waited: Duration::from_millis(9_400),
        };
        let text = e.describe("http://127.0.0.1:9");
        assert_eq!(
            text,
            "GetCallerIdentity: cannot reach http://127.0.0.1:9: connection refused (gave up \
             after 4 requests over 9.4 s); check the network connection, a proxy (HTTPS_PROXY) \
             or firewall, and --endpoint-url"
        );
        assert_eq!(e.severity(), Severity::Network);
        assert!(!text.contains("credentials"));

        let tls = dispatch(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "received corrupt message of type InvalidContentType",
        ));
        assert!(
            matches!(classify(&tls), Failure::Tls(_)),
            "{:?}",
            classify(&tls)
        );

        let timeout: SdkError<GetAccountAuthorizationDetailsError, HttpResponse> =
            SdkError::timeout_error("operation timed out");
        assert!(classify(&timeout).is_transient());
    }

    #[test]
    fn expired_sessions_stop_the_fetch_with_advice() {
        // moto never expires a session, so this is a unit test.
        let e = CallError {
            operation: "GetServiceLastAccessedDetails",
            failure: service(
                "ExpiredToken",
                "The security token included in the request is expired",
                403,
            ),
            requests: 1,
            waited: Duration::ZERO,
        };
        assert_eq!(e.severity(), Severity::Credentials);
        let text = e.describe("AWS");
        assert!(
            text.contains("aws sso login") && text.contains("rerun"),
            "{text}"
        );
        let denied = CallError {
            failure: service("AccessDenied", "not authorized", 403),
            ..e.clone()
        };
        assert_eq!(denied.severity(), Severity::AccessDenied);
        let missing = CallError {
            failure: service("NoSuchEntity", "role gone", 404),
            ..e
        };
        assert_eq!(missing.severity(), Severity::Principal);
    }

    #[test]
    fn call_error_says_the_real_request_count() {
        let e = CallError {
            operation: "GenerateServiceLastAccessedDetails",
            failure: service("Throttling", "Rate exceeded", 400),
            requests: 23,
            waited: Duration::from_secs(301),
        };
        assert_eq!(
            e.to_string(),
            "GenerateServiceLastAccessedDetails: Throttling: Rate exceeded (gave up after 23 \
             requests over 301 s)"
        );
    }

    #[test]
    fn innermost_drops_the_os_error_suffix() {
        let e = std::io::Error::other("Connection refused (os error 111)");
        assert_eq!(innermost(&e), "Connection refused");
    }
}
