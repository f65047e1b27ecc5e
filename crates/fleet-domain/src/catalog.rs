//! The catalog: the regions (each with its address pool) and the server types with prices.

use std::collections::HashSet;

use serde::Deserialize;

use crate::billing::{BillingPolicy, PolicySpec};
use crate::ip_pool::IpPool;
use crate::money::Money;

/// A region and the CIDR pool its servers take addresses from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    /// The region's name, e.g. `us-east-1`.
    pub name: String,
    /// The IPv4 block addresses are allocated from.
    pub cidr: IpPool,
}

/// A server type: its size and hourly price.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTypeSpec {
    /// The type's name, e.g. `t2.micro`.
    pub name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u32,
    /// Price per hour of uptime, in micro-units.
    pub hourly_price_micros: i64,
    /// How its servers' time is charged; the catalog's default when unset.
    #[serde(default)]
    pub billing: Option<PolicySpec>,
}

impl ServerTypeSpec {
    /// The hourly price as money.
    pub fn hourly_price(&self) -> Money {
        Money::from_micros(self.hourly_price_micros)
    }
}

/// What the cloud offers. Build one with [`Catalog::new`] (validated) or take the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    regions: Vec<RegionSpec>,
    server_types: Vec<ServerTypeSpec>,
    /// Each server type's policy, in catalog order.
    policies: Vec<BillingPolicy>,
}

/// The unvalidated shape of a catalog file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// Regions with their pools.
    pub regions: Vec<RegionSpec>,
    /// Server types with their prices.
    pub server_types: Vec<ServerTypeSpec>,
    /// The billing policy of types that name none (per second, 60 s minimum, if unset).
    #[serde(default)]
    pub billing: Option<PolicySpec>,
}

/// Why a catalog was rejected; each variant names the bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// No regions or no server types.
    #[error("the catalog needs at least one {0}")]
    Empty(&'static str),
    /// A name with characters outside `a-z 0-9 . -`, or empty, or too long.
    #[error("{kind} name '{name}' must be 1-64 characters of a-z, 0-9, '.' and '-'")]
    BadName {
        /// "region" or "server type".
        kind: &'static str,
        /// The offending name.
        name: String,
    },
    /// The same name twice.
    #[error("{kind} '{name}' is listed twice")]
    Duplicate {
        /// "region" or "server type".
        kind: &'static str,
        /// The repeated name.
        name: String,
    },
    /// Two regions whose pools share addresses.
    #[error("region '{first}' pool {first_cidr} overlaps region '{second}' pool {second_cidr}")]
    OverlappingPools {
        /// One region.
        first: String,
        /// Its pool.
        first_cidr: String,
        /// The other region.
        second: String,
        /// Its pool.
        second_cidr: String,
    },
    /// A billing policy that does not hold together.
    #[error("billing of server type '{name}': {problem}")]
    BadPolicy {
        /// The type's name.
        name: String,
        /// What is wrong with its policy.
        problem: &'static str,
    },
    /// A server type with zero vCPUs or memory, or a negative price.
    #[error("server type '{name}': {problem}")]
    BadServerType {
        /// The type's name.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

impl Catalog {
    /// A validated catalog.
    pub fn new(
        regions: Vec<RegionSpec>,
        server_types: Vec<ServerTypeSpec>,
    ) -> Result<Self, CatalogError> {
        Self::with_default_billing(regions, server_types, PolicySpec::default())
    }

    /// A validated catalog whose types that name no billing policy take `default_billing`.
    pub fn with_default_billing(
        regions: Vec<RegionSpec>,
        server_types: Vec<ServerTypeSpec>,
        default_billing: PolicySpec,
    ) -> Result<Self, CatalogError> {
        if regions.is_empty() {
            return Err(CatalogError::Empty("region"));
        }
        if server_types.is_empty() {
            return Err(CatalogError::Empty("server type"));
        }
        check_names("region", regions.iter().map(|r| r.name.as_str()))?;
        check_names("server type", server_types.iter().map(|t| t.name.as_str()))?;
        for (i, first) in regions.iter().enumerate() {
            if let Some(second) = regions[i + 1..]
                .iter()
                .find(|r| r.cidr.overlaps(&first.cidr))
            {
                return Err(CatalogError::OverlappingPools {
                    first: first.name.clone(),
                    first_cidr: first.cidr.to_string(),
                    second: second.name.clone(),
                    second_cidr: second.cidr.to_string(),
                });
            }
        }
        for t in &server_types {
            let problem = if t.vcpus == 0 {
                Some("vcpus must be at least 1")
            } else if t.memory_mib == 0 {
                Some("memory_mib must be at least 1")
            } else if t.hourly_price_micros < 0 {
                Some("hourly_price_micros must not be negative")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(CatalogError::BadServerType {
                    name: t.name.clone(),
                    problem,
                });
            }
        }
        let policies = server_types
            .iter()
            .map(|t| {
                t.billing
                    .unwrap_or(default_billing)
                    .resolve(t.hourly_price())
                    .map_err(|problem| CatalogError::BadPolicy {
                        name: t.name.clone(),
                        problem,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            regions,
            server_types,
            policies,
        })
    }

    /// A validated catalog from the shape of a catalog file.
    pub fn from_file(file: CatalogFile) -> Result<Self, CatalogError> {
        Self::with_default_billing(
            file.regions,
            file.server_types,
            file.billing.unwrap_or_default(),
        )
    }

    /// The regions, in catalog order.
    pub fn regions(&self) -> &[RegionSpec] {
        &self.regions
    }

    /// The server types, in catalog order.
    pub fn server_types(&self) -> &[ServerTypeSpec] {
        &self.server_types
    }

    /// The region called `name`.
    pub fn region(&self, name: &str) -> Option<&RegionSpec> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// The server type called `name`.
    pub fn server_type(&self, name: &str) -> Option<&ServerTypeSpec> {
        self.server_types.iter().find(|t| t.name == name)
    }

    /// The billing policy of `server_type` (a type of this catalog; the default policy for
    /// any other).
    pub fn policy(&self, server_type: &ServerTypeSpec) -> BillingPolicy {
        self.server_types
            .iter()
            .position(|t| t.name == server_type.name)
            .map(|i| self.policies[i])
            .unwrap_or_default()
    }
}

impl Default for Catalog {
    /// Four regions with a /16 each, and seven server types priced like their EC2 namesakes.
    fn default() -> Self {
        let region = |name: &str, cidr: &str| RegionSpec {
            name: name.to_owned(),
            cidr: cidr.parse().expect("built-in CIDRs are valid"),
        };
        let server_type = |name: &str, vcpus, memory_mib, hourly_price_micros| ServerTypeSpec {
            name: name.to_owned(),
            vcpus,
            memory_mib,
            hourly_price_micros,
            billing: None,
        };
        Catalog::new(
            vec![
                region("us-east-1", "10.0.0.0/16"),
                region("us-west-2", "10.1.0.0/16"),
                region("eu-west-1", "10.2.0.0/16"),
                region("ap-southeast-1", "10.3.0.0/16"),
            ],
            vec![
                server_type("t2.nano", 1, 512, 5_800),
                server_type("t2.micro", 1, 1_024, 11_600),
                server_type("t2.small", 1, 2_048, 23_000),
                server_type("t2.medium", 2, 4_096, 46_400),
                server_type("m5.large", 2, 8_192, 96_000),
                server_type("c5.xlarge", 4, 8_192, 170_000),
                server_type("r5.2xlarge", 8, 65_536, 504_000),
            ],
        )
        .expect("the built-in catalog is valid")
    }
}

fn check_names<'a>(
    kind: &'static str,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), CatalogError> {
    let mut seen = HashSet::new();
    for name in names {
        let well_formed = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if !well_formed {
            return Err(CatalogError::BadName {
                kind,
                name: name.to_owned(),
            });
        }
        if !seen.insert(name) {
            return Err(CatalogError::Duplicate {
                kind,
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Catalog, String> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| e.to_string())?;
        Catalog::from_file(file).map_err(|e| e.to_string())
    }

    const TYPES: &str = r#"
[[server_types]]
name = "t2.micro"
vcpus = 1
memory_mib = 1024
hourly_price_micros = 11600
"#;

    #[test]
    fn the_default_has_several_regions_and_the_t2_types() {
        let catalog = Catalog::default();
        assert!(catalog.regions().len() >= 3);
        assert_eq!(
            catalog
                .server_type("t2.micro")
                .map(|t| t.hourly_price_micros),
            Some(11_600)
        );
        assert!(catalog.server_type("t2.small").is_some());
        assert!(catalog.server_types().iter().any(|t| t.vcpus >= 4));
    }

    #[test]
    fn a_catalog_file_replaces_the_default() {
        let catalog = parse(&format!(
            "[[regions]]\nname = \"lab-1\"\ncidr = \"192.168.0.0/24\"\n{TYPES}"
        ))
        .expect("valid file");
        assert_eq!(catalog.regions().len(), 1);
        assert_eq!(catalog.region("lab-1").map(|r| r.cidr.size()), Some(254));
    }

    #[test]
    fn bad_entries_are_named_in_the_error() {
        let overlapping = parse(&format!(
            "[[regions]]\nname = \"a\"\ncidr = \"10.0.0.0/8\"\n[[regions]]\nname = \"b\"\ncidr = \"10.9.0.0/16\"\n{TYPES}"
        ))
        .expect_err("overlap");
        assert!(
            overlapping.contains("'a'") && overlapping.contains("'b'"),
            "{overlapping}"
        );

        let bad_cidr = parse(&format!(
            "[[regions]]\nname = \"a\"\ncidr = \"10.0.0.1/8\"\n{TYPES}"
        ))
        .expect_err("host bits");
        assert!(bad_cidr.contains("10.0.0.0/8"), "{bad_cidr}");

        let duplicate = parse(&format!(
            "[[regions]]\nname = \"a\"\ncidr = \"10.0.0.0/8\"\n{TYPES}{TYPES}"
        ))
        .expect_err("duplicate type");
        assert!(
            duplicate.contains("'t2.micro' is listed twice"),
            "{duplicate}"
        );

        let bad_name = parse(&format!(
            "[[regions]]\nname = \"US East\"\ncidr = \"10.0.0.0/8\"\n{TYPES}"
        ))
        .expect_err("bad name");
        assert!(bad_name.contains("'US East'"), "{bad_name}");

        let free_cpu = parse(
            "[[regions]]\nname = \"a\"\ncidr = \"10.0.0.0/8\"\n[[server_types]]\nname = \"x\"\nvcpus = 0\nmemory_mib = 1\nhourly_price_micros = 1\n",
        )
        .expect_err("zero vcpus");
        assert!(
            free_cpu.contains("'x'") && free_cpu.contains("vcpus"),
            "{free_cpu}"
        );

        let unknown_field = parse(&format!(
            "[[regions]]\nname = \"a\"\ncidr = \"10.0.0.0/8\"\nzone = \"z\"\n{TYPES}"
        ))
        .expect_err("unknown field");
        assert!(unknown_field.contains("zone"), "{unknown_field}");
    }
}
