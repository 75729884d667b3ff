#!/usr/bin/env bash
# The analyzer-only build (`cargo build --no-default-features`) holds no AWS SDK, no HTTP client,
# no TLS and no cloud-storage code: this checks its dependency tree against a deny list, so the
# promise in README.md cannot break silently when a dependency or a polars feature changes.
# (polars links tokio, with mio and socket2, as its async runtime; `report`, `diff` and `expand`
# never open a connection with it: tests/offline.rs runs them under strace to check that.)
# Run by .ci/run. Exit 1 and the offending crates when the promise is broken.
set -euo pipefail
cd "$(dirname "$0")/.."
deny='^(aws-[a-z0-9-]+|reqwest|hyper|hyper-[a-z-]+|h2|h3|http|http-body|http-body-util|tower|tower-[a-z-]+|rustls|rustls-[a-z-]+|tokio-rustls|webpki-roots|webpki|ring|native-tls|openssl|openssl-sys|object_store|ureq|curl|curl-sys|isahc|trust-dns-[a-z-]+|hickory-[a-z-]+)$'
crates=$(cargo tree --no-default-features -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
count=$(printf '%s\n' "$crates" | wc -l)
bad=$(printf '%s\n' "$crates" | grep -E "$deny" || true)
if [ -n "$bad" ]; then
  echo "check-no-network: the analyzer-only build pulls in network code:" >&2
  printf '  %s\n' $bad >&2
  for c in $bad; do cargo tree --no-default-features -e features -i "$c" 2>/dev/null | head -20 >&2; done
  exit 1
fi
# The check must be able to fail: the full build does hold such crates.
full=$(cargo tree -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u | grep -cE "$deny" || true)
if [ "$full" -eq 0 ]; then
  echo "check-no-network: the deny list matches nothing even in the full build (with fetch): it is broken" >&2
  exit 1
fi
echo "check-no-network: ok ($count crates in the analyzer-only build, none with HTTP/TLS/cloud code; the full build has $full)"
