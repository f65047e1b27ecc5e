//! IPv4 pool arithmetic: a CIDR's usable host range and the address at each offset.
//!
//! Stores allocate by offset (a counter plus a free list of released offsets), so a pool as
//! large as a /8 needs no row per address.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;
use serde::Deserialize;

/// The usable host addresses of one IPv4 CIDR block.
///
/// For prefixes up to /30 the network and broadcast addresses are excluded; a /31 has two
/// usable addresses (RFC 3021) and a /32 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct IpPool {
    net: Ipv4Net,
}

/// Why a CIDR cannot be a pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpPoolError {
    /// Not of the form `a.b.c.d/prefix`.
    #[error("'{0}' is not an IPv4 CIDR block such as 10.0.0.0/16")]
    Malformed(String),
    /// Host bits are set, so the block is ambiguous.
    #[error("'{given}' has host bits set; did you mean {network}?")]
    HostBitsSet {
        /// What was given.
        given: String,
        /// The network it truncates to.
        network: String,
    },
}

impl IpPool {
    /// A pool over `net`, which must be a network address (no host bits set).
    pub fn new(net: Ipv4Net) -> Result<Self, IpPoolError> {
        if net.trunc() != net {
            return Err(IpPoolError::HostBitsSet {
                given: net.to_string(),
                network: net.trunc().to_string(),
            });
        }
        Ok(Self { net })
    }

    /// The CIDR block.
    pub fn network(&self) -> Ipv4Net {
        self.net
    }

    /// How many addresses the pool can hand out.
    pub fn size(&self) -> u64 {
        let all = 1u64 << (32 - u32::from(self.net.prefix_len()));
        if self.net.prefix_len() >= 31 {
            all
        } else {
            all - 2
        }
    }

    fn first(&self) -> u32 {
        let network = u32::from(self.net.network());
        if self.net.prefix_len() >= 31 {
            network
        } else {
            network + 1
        }
    }

    /// The address at `offset` (0-based) in the usable range, if the offset is in the pool.
    pub fn address(&self, offset: u64) -> Option<Ipv4Addr> {
        if offset >= self.size() {
            return None;
        }
        let offset = u32::try_from(offset).ok()?;
        Some(Ipv4Addr::from(self.first() + offset))
    }

    /// The offset of `addr` in the usable range, if it is one of the pool's addresses.
    pub fn offset_of(&self, addr: Ipv4Addr) -> Option<u64> {
        let offset = u64::from(u32::from(addr).checked_sub(self.first())?);
        (offset < self.size()).then_some(offset)
    }

    /// Whether two pools share any address.
    pub fn overlaps(&self, other: &IpPool) -> bool {
        self.net.contains(&other.net) || other.net.contains(&self.net)
    }
}

impl FromStr for IpPool {
    type Err = IpPoolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let net = Ipv4Net::from_str(s.trim()).map_err(|_| IpPoolError::Malformed(s.to_owned()))?;
        IpPool::new(net)
    }
}

impl TryFrom<String> for IpPool {
    type Error = IpPoolError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for IpPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.net.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pool(s: &str) -> IpPool {
        s.parse().expect("valid pool")
    }

    #[test]
    fn a_slash_24_has_254_hosts_from_dot_1_to_dot_254() {
        let p = pool("192.168.7.0/24");
        assert_eq!(p.size(), 254);
        assert_eq!(p.address(0), Some(Ipv4Addr::new(192, 168, 7, 1)));
        assert_eq!(p.address(253), Some(Ipv4Addr::new(192, 168, 7, 254)));
        assert_eq!(p.address(254), None);
        assert_eq!(p.offset_of(Ipv4Addr::new(192, 168, 7, 0)), None);
        assert_eq!(p.offset_of(Ipv4Addr::new(192, 168, 7, 255)), None);
    }

    #[test]
    fn slash_31_and_32_use_every_address() {
        assert_eq!(pool("10.0.0.0/31").size(), 2);
        assert_eq!(
            pool("10.0.0.0/31").address(0),
            Some(Ipv4Addr::new(10, 0, 0, 0))
        );
        assert_eq!(pool("10.0.0.9/32").size(), 1);
        assert_eq!(
            pool("10.0.0.9/32").address(0),
            Some(Ipv4Addr::new(10, 0, 0, 9))
        );
    }

    #[test]
    fn a_slash_8_is_sixteen_million_addresses_without_a_table() {
        let p = pool("10.0.0.0/8");
        assert_eq!(p.size(), 16_777_214);
        assert_eq!(
            p.address(16_777_213),
            Some(Ipv4Addr::new(10, 255, 255, 254))
        );
    }

    #[test]
    fn malformed_and_host_bit_cidrs_are_rejected() {
        assert!(matches!(
            "10.0.0.0".parse::<IpPool>(),
            Err(IpPoolError::Malformed(_))
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<IpPool>(),
            Err(IpPoolError::Malformed(_))
        ));
        assert!(matches!(
            "::1/128".parse::<IpPool>(),
            Err(IpPoolError::Malformed(_))
        ));
        assert!(matches!(
            "10.0.0.1/24".parse::<IpPool>(),
            Err(IpPoolError::HostBitsSet { .. })
        ));
    }

    #[test]
    fn overlap_is_containment_either_way() {
        assert!(pool("10.0.0.0/8").overlaps(&pool("10.1.0.0/16")));
        assert!(pool("10.1.0.0/16").overlaps(&pool("10.0.0.0/8")));
        assert!(!pool("10.1.0.0/16").overlaps(&pool("10.2.0.0/16")));
    }

    proptest! {
        #[test]
        fn offset_and_address_are_inverse(raw in any::<u32>(), prefix in 0u8..=32, pick in any::<u64>()) {
            let net = Ipv4Net::new(Ipv4Addr::from(raw), prefix).expect("prefix in range").trunc();
            let p = IpPool::new(net).expect("truncated network");
            let offset = pick % p.size();
            let addr = p.address(offset).expect("offset below size");
            prop_assert!(net.contains(&addr));
            prop_assert_eq!(p.offset_of(addr), Some(offset));
            if prefix <= 30 {
                prop_assert_ne!(addr, net.network());
                prop_assert_ne!(addr, net.broadcast());
            }
        }

        #[test]
        fn every_address_in_the_block_maps_to_at_most_one_offset(raw in any::<u32>(), prefix in 24u8..=32) {
            let net = Ipv4Net::new(Ipv4Addr::from(raw), prefix).expect("prefix in range").trunc();
            let p = IpPool::new(net).expect("truncated network");
            let offsets: Vec<u64> = net.hosts().filter_map(|a| p.offset_of(a)).collect();
            prop_assert_eq!(offsets.len() as u64, p.size());
            prop_assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1));
        }
    }
}
