//! Name resolution that refuses forbidden addresses at connect time.

use std::net::SocketAddr;

use fleet_domain::webhooks::AddressPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves with the system resolver and keeps only the addresses the policy allows.
pub(crate) struct PolicyResolver {
    pub(crate) policy: AddressPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|address| match policy.check(address.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refusal = Some(why);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), refusal) {
                (true, Some(why)) => {
                    Err(format!("{host} resolves to a forbidden address: {why}").into())
                }
                (true, None) => Err(format!("{host} resolves to no address").into()),
                (false, _) => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}
