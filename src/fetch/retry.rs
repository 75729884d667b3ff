//! Our retry layer above the SDK's: exponential backoff with full jitter on throttling.
//!
//! The SDK already retries throttling and transient errors (adaptive mode, `--max-attempts`).
//! IAM throttles bulk last-accessed callers for longer than that budget (`Rate exceeded`), so each
//! call of the generate/poll/get loop is wrapped once more: after the SDK gives up on a
//! throttling or 5xx error we sleep `random(0, min(cap, base · 2^n))` ("full jitter", AWS
//! Architecture Blog, "Exponential Backoff And Jitter") and try again, `retries` times.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

/// Error codes IAM and STS use for "slow down".
const THROTTLING_CODES: [&str; 5] = [
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
];

/// How our wrapper backs off.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first delay's upper bound.
    pub base: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
    /// Extra attempts after the SDK gave up on a throttling or 5xx error.
    pub retries: u32,
}

impl Backoff {
    /// Full jitter: uniform in `[0, min(cap, base · 2^attempt)]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }
}

/// A call that failed for good, with what we know about why.
#[derive(Debug, Clone)]
pub struct CallError {
    /// The API operation, e.g. `GenerateServiceLastAccessedDetails`.
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
    /// How many times our wrapper called the SDK (each call has its own SDK retries).
    pub attempts: u32,
}

impl CallError {
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
        )
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.operation)?;
        if let Some(code) = &self.code {
            write!(f, "{code}: ")?;
        }
        write!(f, "{}", self.message)?;
        if self.attempts > 1 {
            write!(f, " (gave up after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// Is this error "slow down" (or a 5xx), so worth another try after a pause?
pub fn is_retryable(code: Option<&str>, message: &str, status: Option<u16>) -> bool {
    code.is_some_and(|c| THROTTLING_CODES.contains(&c))
        || message.contains("Rate exceeded")
        || matches!(status, Some(429 | 500 | 502 | 503 | 504))
}

/// Calls `op` until it succeeds, fails with an error that is not worth retrying, or the backoff's
/// retries are used up.
pub async fn call<T, E, F, Fut>(
    operation: &'static str,
    backoff: &Backoff,
    mut op: F,
) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let err = match op().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().map(str::to_string);
        let message = match err.message() {
            Some(m) => m.to_string(),
            None => DisplayErrorContext(&err).to_string(),
        };
        if attempt > backoff.retries || !is_retryable(code.as_deref(), &message, status) {
            return Err(CallError {
                operation,
                code,
                message,
                attempts: attempt,
            });
        }
        tokio::time::sleep(backoff.delay(attempt)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_recognised() {
        assert!(is_retryable(Some("Throttling"), "Rate exceeded", Some(400)));
        assert!(is_retryable(Some("ThrottlingException"), "", Some(400)));
        assert!(is_retryable(None, "Rate exceeded", None));
        assert!(is_retryable(None, "", Some(429)));
        assert!(is_retryable(None, "", Some(503)));
        assert!(!is_retryable(Some("NoSuchEntity"), "no role", Some(404)));
        assert!(!is_retryable(Some("AccessDenied"), "nope", Some(403)));
    }

    #[test]
    fn full_jitter_stays_under_the_capped_ceiling() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            retries: 5,
        };
        for attempt in 0..40 {
            let ceiling = Duration::from_millis(100 * (1u64 << attempt.min(20))).min(b.cap);
            assert!(b.delay(attempt) <= ceiling);
        }
    }

    #[test]
    fn call_error_says_what_and_how_often() {
        let e = CallError {
            operation: "GenerateServiceLastAccessedDetails",
            code: Some("Throttling".into()),
            message: "Rate exceeded".into(),
            attempts: 5,
        };
        assert_eq!(
            e.to_string(),
            "GenerateServiceLastAccessedDetails: Throttling: Rate exceeded (gave up after 5 attempts)"
        );
    }
}
