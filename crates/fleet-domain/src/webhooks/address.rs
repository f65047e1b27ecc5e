//! Where deliveries may go: an http(s) URL without credentials, never to a link-local,
//! metadata, unspecified, broadcast or multicast address, and to loopback and private
//! ranges only when the operator allows it. A URL naming an address is checked when the
//! subscription is made; every address a name resolves to is checked again at connect
//! time, so DNS cannot rebind a name past the check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// The longest URL accepted, in characters.
pub const MAX_URL_LEN: usize = 2_048;

/// The EC2 instance metadata service's IPv6 address.
const EC2_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Whether deliveries may reach loopback and private ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7) and
    /// shared (100.64/10) addresses are allowed: fleet usually runs beside its receivers.
    pub allow_private: bool,
}

impl Default for AddressPolicy {
    fn default() -> Self {
        Self {
            allow_private: true,
        }
    }
}

/// Why a delivery may not go to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ForbiddenAddress {
    /// Link-local or a cloud metadata address (169.254.0.0/16, fe80::/10, fd00:ec2::254).
    #[error("{0} is link-local or a metadata address, where deliveries never go")]
    LinkLocal(IpAddr),
    /// 0.0.0.0/8 or ::.
    #[error("{0} is an unspecified address")]
    Unspecified(IpAddr),
    /// Multicast or broadcast.
    #[error("{0} is a multicast or broadcast address")]
    Multicast(IpAddr),
    /// Loopback or private, and the setting forbids those.
    #[error("{0} is a loopback or private address, which this fleet does not deliver to")]
    Private(IpAddr),
}

impl AddressPolicy {
    /// Whether a delivery may connect to `address`.
    pub fn check(&self, address: IpAddr) -> Result<(), ForbiddenAddress> {
        let address = canonical(address);
        match address {
            IpAddr::V4(v4) => self.check_v4(v4, address),
            IpAddr::V6(v6) => self.check_v6(v6, address),
        }
    }

    fn check_v4(&self, v4: Ipv4Addr, address: IpAddr) -> Result<(), ForbiddenAddress> {
        if v4.is_link_local() {
            return Err(ForbiddenAddress::LinkLocal(address));
        }
        if v4.octets()[0] == 0 {
            return Err(ForbiddenAddress::Unspecified(address));
        }
        if v4.is_multicast() || v4.is_broadcast() {
            return Err(ForbiddenAddress::Multicast(address));
        }
        let shared = v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64;
        if !self.allow_private && (v4.is_loopback() || v4.is_private() || shared) {
            return Err(ForbiddenAddress::Private(address));
        }
        Ok(())
    }

    fn check_v6(&self, v6: Ipv6Addr, address: IpAddr) -> Result<(), ForbiddenAddress> {
        if (v6.segments()[0] & 0xffc0) == 0xfe80 || v6 == EC2_METADATA_V6 {
            return Err(ForbiddenAddress::LinkLocal(address));
        }
        if v6.is_unspecified() {
            return Err(ForbiddenAddress::Unspecified(address));
        }
        if v6.is_multicast() {
            return Err(ForbiddenAddress::Multicast(address));
        }
        let unique_local = (v6.segments()[0] & 0xfe00) == 0xfc00;
        if !self.allow_private && (v6.is_loopback() || unique_local) {
            return Err(ForbiddenAddress::Private(address));
        }
        Ok(())
    }
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is checked as the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// Why a webhook URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadWebhookUrl {
    /// Longer than [`MAX_URL_LEN`].
    #[error("the url is {0} characters long; at most {MAX_URL_LEN} are accepted")]
    TooLong(usize),
    /// Not a URL.
    #[error("the url is not a valid absolute URL: {0}")]
    Malformed(String),
    /// Another scheme than http or https.
    #[error("the url's scheme is '{0}'; only http and https are delivered to")]
    Scheme(String),
    /// A user name or password in it, which would be sent to the receiver and shown in
    /// every listing.
    #[error("the url carries credentials; put them in the path or query, or rely on signatures")]
    Credentials,
    /// It names an address deliveries may not go to.
    #[error(transparent)]
    Forbidden(#[from] ForbiddenAddress),
}

/// Checks a subscription's URL and returns it as it will be stored (normalised).
pub fn check_url(text: &str, policy: &AddressPolicy) -> Result<String, BadWebhookUrl> {
    let length = text.chars().count();
    if length > MAX_URL_LEN {
        return Err(BadWebhookUrl::TooLong(length));
    }
    let url = Url::parse(text).map_err(|e| BadWebhookUrl::Malformed(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(BadWebhookUrl::Scheme(url.scheme().to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BadWebhookUrl::Credentials);
    }
    match url.host() {
        Some(Host::Ipv4(v4)) => policy.check(IpAddr::V4(v4))?,
        Some(Host::Ipv6(v6)) => policy.check(IpAddr::V6(v6))?,
        Some(Host::Domain(_)) => {}
        None => return Err(BadWebhookUrl::Malformed("it has no host".to_owned())),
    }
    Ok(url.into())
}

/// The address a URL names literally, if it names one (a name is resolved at connect
/// time and checked there).
pub fn literal_address(url: &str) -> Option<IpAddr> {
    match Url::parse(url).ok()?.host()? {
        Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        Host::Domain(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: AddressPolicy = AddressPolicy {
        allow_private: true,
    };
    const CLOSED: AddressPolicy = AddressPolicy {
        allow_private: false,
    };

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn link_local_metadata_unspecified_and_multicast_are_always_refused() {
        for (address, why) in [
            ("169.254.169.254", "link"),
            ("169.254.0.1", "link"),
            ("fe80::1", "link"),
            ("febf::1", "link"),
            ("fd00:ec2::254", "link"),
            ("::ffff:169.254.169.254", "link"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("::", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "multicast"),
            ("ff02::1", "multicast"),
        ] {
            for policy in [OPEN, CLOSED] {
                let refusal = policy.check(ip(address)).expect_err(address);
                let text = refusal.to_string();
                assert!(text.contains(why) || text.contains("metadata"), "{text}");
            }
        }
    }

    #[test]
    fn loopback_and_private_ranges_follow_the_setting() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd12::1",
            "::ffff:127.0.0.1",
        ] {
            assert_eq!(OPEN.check(ip(address)), Ok(()), "{address}");
            assert_eq!(
                CLOSED.check(ip(address)),
                Err(ForbiddenAddress::Private(canonical(ip(address)))),
                "{address}"
            );
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for address in ["93.184.216.34", "100.128.0.1", "172.32.0.1", "2001:db8::1"] {
            assert_eq!(CLOSED.check(ip(address)), Ok(()), "{address}");
        }
    }

    #[test]
    fn urls_are_checked_and_normalised() {
        assert_eq!(
            check_url("HTTP://Example.com/hook", &OPEN),
            Ok("http://example.com/hook".to_owned())
        );
        assert!(matches!(
            check_url("ftp://example.com/", &OPEN),
            Err(BadWebhookUrl::Scheme(s)) if s == "ftp"
        ));
        assert_eq!(
            check_url("https://user:pw@example.com/", &OPEN),
            Err(BadWebhookUrl::Credentials)
        );
        assert!(matches!(
            check_url("not a url", &OPEN),
            Err(BadWebhookUrl::Malformed(_))
        ));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(
            check_url(&long, &OPEN),
            Err(BadWebhookUrl::TooLong(_))
        ));
        assert!(matches!(
            check_url("http://169.254.169.254/latest/meta-data", &OPEN),
            Err(BadWebhookUrl::Forbidden(ForbiddenAddress::LinkLocal(_)))
        ));
        assert!(matches!(
            check_url("http://[::1]:8080/", &CLOSED),
            Err(BadWebhookUrl::Forbidden(ForbiddenAddress::Private(_)))
        ));
        assert_eq!(
            literal_address("http://127.0.0.1:9/x"),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(literal_address("http://example.com/x"), None);
    }
}
