//! Which addresses outbound calls may reach.
//!
//! A rule file can name any URL in a `webhook` action, and a helpdesk or Slack URL comes from
//! the environment. Without a fence, whoever writes rules could make the daemon call what only
//! the machine it runs on can reach: a database's HTTP port on loopback, an admin interface on
//! the private network, the cloud's metadata service at 169.254.169.254 (which hands out
//! credentials). So outbound HTTP refuses loopback, private, link-local, unique-local, shared
//! (carrier-grade NAT), multicast and unspecified addresses, unless the operator allows them by
//! network (`FRONTDESK_OUTBOUND_ALLOW=10.20.0.0/16,127.0.0.1/32`).
//!
//! The check is made on the addresses a name resolves to (a public name pointing at an
//! internal address is refused, whatever the name says), on every connection of a request
//! (redirects resolve again), and on URLs whose host is an address, which need no resolving.
//! E-mail goes to the one SMTP relay the operator configures and is not fenced.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`; a bare address is one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Reads `10.0.0.0/8`, `::1/128` or a bare address.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{text}` is not an address or a network (10.0.0.0/8)"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix length goes from 0 to {max}"))?,
        };
        Ok(Cidr { net, prefix })
    }

    /// Whether `ip` is in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let (bytes, bits) = (usize::from(prefix / 8), prefix % 8);
    a[..bytes] == b[..bytes] && (bits == 0 || (a[bytes] ^ b[bytes]) & (0xff << (8 - bits)) == 0)
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// What kind of internal address `ip` is, or `None` for a public one.
pub fn internal(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata services live here)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared address space (carrier-grade NAT)")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified (\"this network\")")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("multicast, broadcast or reserved")
    } else {
        None
    }
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique-local (private)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}

/// The addresses outbound calls may reach: every public address, and internal ones in the
/// allowed networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fence {
    allow: Vec<Cidr>,
}

impl Fence {
    /// A fence that lets through the internal networks in `allow` (CIDR texts); the error
    /// names the entry that is not one.
    pub fn new<S: AsRef<str>>(allow: &[S]) -> Result<Fence, String> {
        let allow = allow
            .iter()
            .map(|s| s.as_ref())
            .filter(|s| !s.trim().is_empty())
            .map(|s| Cidr::parse(s).map_err(|e| format!("FRONTDESK_OUTBOUND_ALLOW: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Fence { allow })
    }

    /// Why `ip` may not be called (`None`: it may).
    pub fn refuses(&self, ip: IpAddr) -> Option<String> {
        let kind = internal(ip)?;
        if self.allow.iter().any(|c| c.contains(ip)) {
            return None;
        }
        Some(format!(
            "{ip} is a {kind} address, which outbound calls may not reach \
             (allow its network with FRONTDESK_OUTBOUND_ALLOW)"
        ))
    }

    /// Why a URL whose host is an address may not be called (`None`: it may, or its host is a
    /// name, which the resolver checks).
    pub fn refuses_url(&self, url: &reqwest::Url) -> Option<String> {
        let host = url.host_str()?;
        let ip: IpAddr = host.trim_matches(['[', ']']).parse().ok()?;
        self.refuses(ip).map(|why| format!("{url}: {why}"))
    }
}

/// A call the fence refused: failed for good (retrying cannot help until the operator allows
/// the network), where other network errors are retried.
#[derive(Debug)]
pub struct Fenced(pub String);

impl std::fmt::Display for Fenced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fenced {}

/// Whether an error (or one of its causes) is the fence's refusal, and why.
pub fn fenced<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a str> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(f) = e.downcast_ref::<Fenced>() {
            return Some(&f.0);
        }
        cur = e.source();
    }
    None
}

/// The redirect policy of the outbound HTTP client: at most 10 hops, none to a fenced
/// address (names are checked when they resolve).
pub fn redirects(fence: Arc<Fence>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if let Some(why) = fence.refuses_url(attempt.url()) {
            attempt.error(Fenced(format!("redirected to {why}")))
        } else if attempt.previous().len() >= 10 {
            attempt.error(Fenced("more than 10 redirects".into()))
        } else {
            attempt.follow()
        }
    })
}

/// The resolver of the outbound HTTP client: the system's, with the fenced addresses left out.
/// A name all of whose addresses are fenced fails to resolve, with the reason.
#[derive(Debug, Clone)]
pub struct FencedResolver(pub Arc<Fence>);

impl reqwest::dns::Resolve for FencedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let fence = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match fence.refuses(a.ip()) {
                    Some(why) => {
                        refused.get_or_insert(why);
                        false
                    }
                    None => true,
                })
                .collect();
            if allowed.is_empty() {
                let why = refused.unwrap_or_else(|| "no address".to_string());
                let err: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(Fenced(format!("{host} resolves to {why}")));
                return Err(err);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let fence = Fence::default();
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
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
            "::ffff:169.254.169.254",
        ] {
            assert!(fence.refuses(ip(refused)).is_some(), "{refused}");
        }
        for public in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.2.1",
            "2001:db8::1",
            "2606:4700::1111",
        ] {
            assert_eq!(fence.refuses(ip(public)), None, "{public}");
        }
        let why = fence.refuses(ip("169.254.169.254")).unwrap();
        assert!(
            why.contains("link-local") && why.contains("FRONTDESK_OUTBOUND_ALLOW"),
            "{why}"
        );

        let fence = Fence::new(&["127.0.0.1", "10.20.0.0/16", "fd00::/8", " "]).unwrap();
        for allowed in ["127.0.0.1", "::ffff:127.0.0.1", "10.20.255.1", "fd12::3"] {
            assert_eq!(fence.refuses(ip(allowed)), None, "{allowed}");
        }
        for refused in ["127.0.0.2", "10.21.0.1", "fe80::1"] {
            assert!(fence.refuses(ip(refused)).is_some(), "{refused}");
        }
    }

    #[test]
    fn networks_are_read_with_clear_errors() {
        assert_eq!(
            Cidr::parse("10.0.0.0/8").unwrap(),
            Cidr {
                net: ip("10.0.0.0"),
                prefix: 8
            }
        );
        assert!(Cidr::parse("10.0.0.0/12")
            .unwrap()
            .contains(ip("10.15.0.1")));
        assert!(!Cidr::parse("10.0.0.0/12")
            .unwrap()
            .contains(ip("10.16.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("127.0.0.1")));
        let e = Fence::new(&["10.0.0.0/33"]).unwrap_err();
        assert!(
            e.contains("FRONTDESK_OUTBOUND_ALLOW") && e.contains("0 to 32"),
            "{e}"
        );
        let e = Fence::new(&["intranet"]).unwrap_err();
        assert!(e.contains("`intranet`"), "{e}");
    }

    #[test]
    fn urls_with_an_address_for_a_host_are_checked_without_resolving() {
        let fence = Fence::default();
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(fence
            .refuses_url(&url("http://169.254.169.254/latest/meta-data/"))
            .is_some());
        assert!(fence.refuses_url(&url("http://[::1]:8080/x")).is_some());
        assert_eq!(fence.refuses_url(&url("https://hooks.example.com/x")), None);
        assert_eq!(fence.refuses_url(&url("https://93.184.215.14/x")), None);
    }
}
