//! A server named in a path: by its id, or by its EC2 instance id (`i-` and 17 hex
//! digits), so ids copied from the EC2 endpoint work here too. The spec still says
//! `format: uuid`, what generated clients send; an instance id is documented beside it.

use std::fmt;

use fleet_domain::service::ServerService;
use fleet_domain::{Caller, InstanceId, ServerId};
use paperclip::v2::models::{DataType, DataTypeFormat};
use paperclip::v2::schema::TypedData;
use serde::{Deserialize, Deserializer, de};
use uuid::Uuid;

use fleet_domain::error::GetError;

/// The `{id}` of a server's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerKey {
    /// Its id.
    Id(ServerId),
    /// Its EC2 instance id.
    Instance(InstanceId),
}

impl ServerKey {
    /// Reads a UUID or an instance id.
    pub fn parse(text: &str) -> Option<ServerKey> {
        if text.starts_with("i-") {
            return InstanceId::parse(text).ok().map(ServerKey::Instance);
        }
        Uuid::try_parse(text)
            .ok()
            .map(|id| ServerKey::Id(id.into()))
    }

    /// The server id it names: an instance id is looked up among the servers the caller
    /// sees (another project's is not found, as by id).
    pub async fn resolve(
        self,
        servers: &ServerService,
        caller: &Caller,
    ) -> Result<ServerId, GetError> {
        match self {
            ServerKey::Id(id) => Ok(id),
            ServerKey::Instance(instance) => servers.server_of_instance(caller, &instance).await,
        }
    }
}

impl fmt::Display for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerKey::Id(id) => id.fmt(f),
            ServerKey::Instance(instance) => instance.fmt(f),
        }
    }
}

impl<'de> Deserialize<'de> for ServerKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ServerKey::parse(&text).ok_or_else(|| {
            de::Error::custom(format!(
                "'{text}' is neither a server id (a UUID) nor an instance id (i- and 17 hex digits)"
            ))
        })
    }
}

impl TypedData for ServerKey {
    fn data_type() -> DataType {
        DataType::String
    }

    fn format() -> Option<DataTypeFormat> {
        Some(DataTypeFormat::Uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_a_uuid_or_an_instance_id() {
        let id = "0f1ee7c0-ffee-4abc-8def-0123456789ab";
        assert_eq!(
            ServerKey::parse(id),
            Some(ServerKey::Id(id.parse().expect("uuid")))
        );
        assert_eq!(
            ServerKey::parse("i-0f1ee7c0ffee4abc8").map(|k| k.to_string()),
            Some("i-0f1ee7c0ffee4abc8".to_owned())
        );
        for bad in ["", "i-", "i-0f1ee7c0ffee4abc", "web-1", "0f1ee7c0"] {
            assert_eq!(ServerKey::parse(bad), None, "{bad:?}");
        }
    }
}
