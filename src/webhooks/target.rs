//! Where webhooks may be sent (server-side request forgery): `http`/`https` only, and never to
//! loopback, private, link-local, unique-local, multicast or unspecified addresses, unless the
//! operator allows private targets. Checked when a subscription is written (for a clear 422) and
//! again for every connection, in the HTTP client's resolver, since a name can resolve
//! differently by then (DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use url::{Host, Url};

/// How long the check at creation waits for DNS.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
pub const MAX_URL_CHARS: usize = 2048;

/// Whether an address is one a webhook must not reach from the public internet's point of view.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local, fec0::/10 old site-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                // ::/96 IPv4-compatible and 64:ff9b::/96 NAT64 can both reach IPv4 inside.
                || (v6.segments()[..6] == [0; 6])
                || (v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
                    && forbidden_v4(Ipv4Addr::from(
                        ((u32::from(v6.segments()[6])) << 16) | u32::from(v6.segments()[7]),
                    )))
        }
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT: private in all but name.
        || (a == 100 && (64..128).contains(&b))
        // 240.0.0.0/4, reserved.
        || a >= 240
}

/// Why a target URL is refused, as the `url` field's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("must be an absolute http or https URL")]
    Scheme,
    #[error("must be at most {MAX_URL_CHARS} characters")]
    TooLong,
    #[error("must not carry credentials; sign-in is by the webhook signature")]
    Credentials,
    #[error("must not point at a loopback, private, link-local or multicast address ({0})")]
    Private(IpAddr),
}

/// Checks a target as written: its form, and the addresses its host names now. A name that
/// does not resolve (yet) is accepted: the deliverer checks every connection again.
pub async fn check(url: &str, allow_private: bool) -> Result<Url, TargetError> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(TargetError::TooLong);
    }
    let parsed = Url::parse(url).map_err(|_| TargetError::Scheme)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetError::Scheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetError::Credentials);
    }
    let port = parsed.port_or_known_default().unwrap_or(80);
    match parsed.host() {
        None => Err(TargetError::Scheme),
        Some(_) if allow_private => Ok(parsed),
        Some(Host::Ipv4(ip)) => literal(IpAddr::V4(ip)).map(|()| parsed),
        Some(Host::Ipv6(ip)) => literal(IpAddr::V6(ip)).map(|()| parsed),
        Some(Host::Domain(name)) => {
            let lookup = tokio::net::lookup_host((name.to_owned(), port));
            if let Ok(Ok(addrs)) = tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await {
                for addr in addrs {
                    if is_forbidden(addr.ip()) {
                        return Err(TargetError::Private(addr.ip()));
                    }
                }
            }
            Ok(parsed)
        }
    }
}

fn literal(ip: IpAddr) -> Result<(), TargetError> {
    if is_forbidden(ip) {
        Err(TargetError::Private(ip))
    } else {
        Ok(())
    }
}

/// The address literal of a URL's host, if it is one: the client connects to those without
/// asking the resolver, so the deliverer checks them itself.
pub fn literal_host(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// The HTTP client's resolver: the system's, with forbidden addresses taken out; a name with
/// nothing left fails to resolve, so no connection is ever opened to it.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| !is_forbidden(a.ip()))
                .collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> = format!(
                    "`{host}` resolves only to addresses webhooks may not reach ({})",
                    addrs
                        .iter()
                        .map(|a| a.ip().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into();
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The resolver the deliverer's client uses: guarded unless private targets are allowed.
pub fn resolver(allow_private: bool) -> Option<Arc<GuardedResolver>> {
    (!allow_private).then_some(Arc::new(GuardedResolver))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_internal_addresses() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_forbidden(bad.parse().unwrap()), "{bad}");
        }
        for good in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "64:ff9b::5db8:d822",
        ] {
            assert!(!is_forbidden(good.parse().unwrap()), "{good}");
        }
    }
}
