//! SSRF guard: a webhook target's addresses are checked after DNS resolution,
//! at creation and again at every connection (the client resolves through
//! [`GuardedResolver`], so a name that later re-points inside cannot be used).
//! Loopback, private, link-local, shared (CGNAT), metadata and other special
//! ranges are refused unless the operator allows them
//! (`ASSISTIV_WEBHOOK_ALLOW_PRIVATE`, or `ASSISTIV_WEBHOOK_ALLOWED_SUBNETS`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use assistiv_app_sdk::reqwest::Url;
use assistiv_app_sdk::reqwest::dns::{Addrs, Name, Resolve, Resolving};
use ipnet::IpNet;

/// Which targets deliveries may reach.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allow_private: bool,
    allowed: Vec<IpNet>,
}

/// Why a special address is refused.
fn special_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return special_v4(Ipv4Addr::new(a, b, c, d));
            }
            special_v6(v6)
        }
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        (169, 254, _) if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata",
        _ if ip.is_link_local() => "link-local",
        _ if ip.is_private() => "private",
        (100, 100, 100) => "cloud metadata",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "reserved",
        (198, 18..=19, _) => "benchmarking",
        _ if ip.is_multicast() || ip.is_broadcast() || a >= 240 => "multicast or reserved",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match first {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => "cloud metadata",
        _ if first & 0xfe00 == 0xfc00 => "private (unique local)",
        _ if first & 0xffc0 == 0xfe80 => "link-local",
        _ if ip.is_multicast() => "multicast",
        0x2001 if ip.segments()[1] == 0x0db8 => "reserved",
        // IPv4-compatible (::a.b.c.d) and other addresses under ::/96.
        0 if ip.segments()[..6] == [0; 6] => "reserved",
        _ => return None,
    })
}

impl Guard {
    /// `subnets`: comma-separated CIDRs (a bare address is a /32 or /128).
    pub fn new(allow_private: bool, subnets: Option<&str>) -> anyhow::Result<Self> {
        let mut allowed = Vec::new();
        for item in subnets.unwrap_or_default().split(',').map(str::trim) {
            if item.is_empty() {
                continue;
            }
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => item.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    anyhow::anyhow!(
                        "ASSISTIV_WEBHOOK_ALLOWED_SUBNETS: '{item}' is not a CIDR (10.0.0.0/8) or an address"
                    )
                })?,
            };
            allowed.push(net.trunc());
        }
        Ok(Self {
            allow_private,
            allowed,
        })
    }

    /// Why `ip` may not be reached, or `None` when it may.
    pub fn refusal(&self, ip: IpAddr) -> Option<String> {
        let range = special_range(ip)?;
        if self.allow_private || self.allowed.iter().any(|net| net.contains(&ip)) {
            return None;
        }
        Some(format!(
            "{ip} is a {range} address; webhook targets must be public \
             (the operator can allow it with ASSISTIV_WEBHOOK_ALLOW_PRIVATE or ASSISTIV_WEBHOOK_ALLOWED_SUBNETS)"
        ))
    }

    /// Resolves `url`'s host and refuses it when any address it names is refused.
    pub async fn vet(&self, url: &Url) -> Result<(), String> {
        let host = url
            .host_str()
            .ok_or_else(|| "the URL has no host".to_owned())?;
        let port = url.port_or_known_default().unwrap_or(443);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return self.refusal(ip).map_or(Ok(()), Err);
        }
        self.resolve(host, port).await.map(|_| ())
    }

    /// `host`'s addresses, all of them allowed, or why not.
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("{host} resolves to no address"));
        }
        for addr in &addrs {
            if let Some(why) = self.refusal(addr.ip()) {
                return Err(format!("{host} resolves to {why}"));
            }
        }
        Ok(addrs)
    }

    /// The DNS resolver of the delivery client: answers only allowed addresses.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver(self.clone()))
    }
}

/// Resolves names for the delivery client, refusing any name that resolves to
/// a refused address (so the check holds at connection time, not just before).
pub struct GuardedResolver(Guard);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = guard.resolve(&host, 0).await.map_err(Refused)?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A target refused by the guard (the message says why).
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn special_ranges_are_refused_and_public_ones_pass() {
        let guard = Guard::default();
        for refused in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            assert!(guard.refusal(ip(refused)).is_some(), "{refused}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "100.128.0.1",
        ] {
            assert!(guard.refusal(ip(public)).is_none(), "{public}");
        }
        let why = guard.refusal(ip("169.254.169.254")).unwrap();
        assert!(why.contains("metadata"), "{why}");
    }

    #[test]
    fn the_operator_allows_subnets_or_everything() {
        let guard = Guard::new(false, Some("127.0.0.0/8, 10.1.2.3")).unwrap();
        assert!(guard.refusal(ip("127.0.0.1")).is_none());
        assert!(guard.refusal(ip("10.1.2.3")).is_none());
        assert!(guard.refusal(ip("10.1.2.4")).is_some());
        assert!(
            Guard::new(true, None)
                .unwrap()
                .refusal(ip("10.0.0.1"))
                .is_none()
        );
        assert!(Guard::new(false, Some("not-a-net")).is_err());
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        let guard = Guard::default();
        let url = Url::parse("http://localhost:9/hook").unwrap();
        let why = guard.vet(&url).await.unwrap_err();
        assert!(why.contains("loopback"), "{why}");
        let url = Url::parse("http://[::1]:9/hook").unwrap();
        assert!(guard.vet(&url).await.is_err());
        let allowed = Guard::new(false, Some("127.0.0.0/8,::1/128")).unwrap();
        assert!(
            allowed
                .vet(&Url::parse("http://localhost:9/").unwrap())
                .await
                .is_ok()
        );
    }
}
