//! How fleet's servers look as EC2 instances: states and their codes, zones, images,
//! reservations and the instance document itself (the table is in docs/ec2.md).

use fleet_domain::service::ServerView;
use fleet_domain::{Catalog, InstanceId, Server, ServerId, ServerState};

use crate::xml::{
    CpuOptions, Instance, InstanceState, Items, Monitoring, Placement, StateReasonXml, TagItem,
};

/// The label that keeps the image an instance was launched from; labels under
/// [`SERVICE_PREFIX`] are fleet's bookkeeping, not tags.
pub const IMAGE_LABEL: &str = "ec2.fleet.dev/image";
/// The label prefix the EC2 endpoint keeps to itself.
pub const SERVICE_PREFIX: &str = "ec2.fleet.dev/";
/// The owner id EC2 shows on reservations and images: one account for every project.
pub const OWNER_ID: &str = "000000000000";
/// The zones of every region: `REGION` and one of these letters.
pub const ZONE_LETTERS: [char; 3] = ['a', 'b', 'c'];

/// EC2's `pending`.
pub const PENDING: InstanceState = InstanceState {
    code: 0,
    name: "pending",
};
/// EC2's `running`.
pub const RUNNING: InstanceState = InstanceState {
    code: 16,
    name: "running",
};
/// EC2's `shutting-down`.
pub const SHUTTING_DOWN: InstanceState = InstanceState {
    code: 32,
    name: "shutting-down",
};
/// EC2's `terminated`.
pub const TERMINATED: InstanceState = InstanceState {
    code: 48,
    name: "terminated",
};
/// EC2's `stopping`.
pub const STOPPING: InstanceState = InstanceState {
    code: 64,
    name: "stopping",
};
/// EC2's `stopped`.
pub const STOPPED: InstanceState = InstanceState {
    code: 80,
    name: "stopped",
};

/// The EC2 state of a server in `state`.
pub fn instance_state(state: ServerState) -> InstanceState {
    match state {
        ServerState::Provisioning | ServerState::Starting => PENDING,
        ServerState::Running | ServerState::Rebooting => RUNNING,
        ServerState::Stopping => STOPPING,
        ServerState::Stopped => STOPPED,
        ServerState::Terminating => SHUTTING_DOWN,
        ServerState::Terminated | ServerState::Failed => TERMINATED,
    }
}

/// The fleet states an EC2 state name covers; `None` for a name EC2 does not have.
pub fn server_states(name: &str) -> Option<Vec<ServerState>> {
    let all = [
        ServerState::Provisioning,
        ServerState::Starting,
        ServerState::Running,
        ServerState::Rebooting,
        ServerState::Stopping,
        ServerState::Stopped,
        ServerState::Terminating,
        ServerState::Terminated,
        ServerState::Failed,
    ];
    let states: Vec<ServerState> = all
        .into_iter()
        .filter(|s| instance_state(*s).name == name)
        .collect();
    (!states.is_empty()).then_some(states)
}

/// The zone a server is in: its region and a letter drawn from its id, so servers spread
/// over the three zones and each stays in one.
pub fn zone_of(id: ServerId, region: &str) -> String {
    let letter = ZONE_LETTERS[(id.as_uuid().as_u128() % 3) as usize];
    format!("{region}{letter}")
}

/// The reservation id of a launch, named after the first instance's server id.
pub fn reservation_id(id: ServerId) -> String {
    let hex = id.as_uuid().simple().to_string();
    format!("r-{}", &hex[hex.len() - 17..])
}

/// An image fleet offers: every one boots the same simulated server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSpec {
    /// `ami-` and 17 hex digits.
    pub id: &'static str,
    /// Its name.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
}

/// The images RunInstances accepts.
pub const IMAGES: [ImageSpec; 3] = [
    ImageSpec {
        id: "ami-0f1ee700000000001",
        name: "fleet-debian-12-x86_64",
        description: "Debian 12 (simulated by fleet)",
    },
    ImageSpec {
        id: "ami-0f1ee700000000002",
        name: "fleet-ubuntu-24.04-x86_64",
        description: "Ubuntu 24.04 LTS (simulated by fleet)",
    },
    ImageSpec {
        id: "ami-0f1ee700000000003",
        name: "fleet-al2023-x86_64",
        description: "Amazon Linux 2023 (simulated by fleet)",
    },
];

/// The image with this id.
pub fn image(id: &str) -> Option<&'static ImageSpec> {
    IMAGES.iter().find(|image| image.id == id)
}

/// The image a server was launched from: its label, or the first image for a server made
/// through the REST API.
pub fn image_of(server: &Server) -> &str {
    server.labels.get(IMAGE_LABEL).unwrap_or(IMAGES[0].id)
}

/// The instance document of a server.
pub fn instance(view: &ServerView, catalog: &Catalog) -> Instance {
    let server = &view.server;
    let vcpus = catalog
        .server_type(&server.server_type)
        .map_or(1, |t| t.vcpus);
    let changed_at = server
        .terminated_at
        .or(server.stopped_at)
        .unwrap_or(server.updated_at);
    Instance {
        instance_id: InstanceId::of(server.id).to_string(),
        image_id: image_of(server).to_owned(),
        instance_state: instance_state(server.state),
        private_dns_name: server
            .ip
            .map(|ip| private_dns_name(&ip.to_string(), &server.region))
            .unwrap_or_default(),
        dns_name: "",
        reason: server
            .state_reason
            .map(|reason| {
                let why = if reason.code().starts_with("Client.") {
                    "User initiated"
                } else {
                    "Service initiated"
                };
                format!("{why} ({} GMT)", changed_at.format("%Y-%m-%d %H:%M:%S"))
            })
            .unwrap_or_default(),
        ami_launch_index: 0,
        product_codes: Items::default(),
        instance_type: server.server_type.clone(),
        launch_time: server
            .started_at
            .unwrap_or(server.created_at)
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string(),
        placement: Placement {
            availability_zone: zone_of(server.id, &server.region),
            group_name: "",
            tenancy: "default",
        },
        monitoring: Monitoring { state: "disabled" },
        private_ip_address: server.ip.map(|ip| ip.to_string()),
        group_set: Items::default(),
        state_reason: server.state_reason.map(|reason| StateReasonXml {
            code: reason.code(),
            message: reason.message().to_owned(),
        }),
        architecture: "x86_64",
        root_device_type: "ebs",
        root_device_name: "/dev/xvda",
        block_device_mapping: Items::default(),
        virtualization_type: "hvm",
        tag_set: tags(view).into(),
        hypervisor: "xen",
        ebs_optimized: false,
        cpu_options: CpuOptions {
            core_count: vcpus,
            threads_per_core: 1,
        },
        platform_details: "Linux/UNIX",
    }
}

/// A server's labels as EC2 tags: all but fleet's bookkeeping.
pub fn tags(view: &ServerView) -> Vec<TagItem> {
    view.server
        .labels
        .iter()
        .filter(|(key, _)| !key.starts_with(SERVICE_PREFIX))
        .map(|(key, value)| TagItem {
            key: key.to_owned(),
            value: value.to_owned(),
        })
        .collect()
}

/// EC2's private DNS name of an address: `ip-10-0-0-1.ec2.internal` in us-east-1,
/// `ip-10-0-0-1.REGION.compute.internal` elsewhere.
fn private_dns_name(ip: &str, region: &str) -> String {
    let host = format!("ip-{}", ip.replace('.', "-"));
    if region == "us-east-1" {
        format!("{host}.ec2.internal")
    } else {
        format!("{host}.{region}.compute.internal")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_ec2_s_name_and_code_and_names_map_back() {
        use ServerState::*;
        for (state, code, name) in [
            (Provisioning, 0, "pending"),
            (Starting, 0, "pending"),
            (Running, 16, "running"),
            (Rebooting, 16, "running"),
            (Stopping, 64, "stopping"),
            (Stopped, 80, "stopped"),
            (Terminating, 32, "shutting-down"),
            (Terminated, 48, "terminated"),
            (Failed, 48, "terminated"),
        ] {
            assert_eq!(instance_state(state), InstanceState { code, name });
            assert!(server_states(name).expect("a name").contains(&state));
        }
        assert_eq!(server_states("pending"), Some(vec![Provisioning, Starting]));
        assert_eq!(server_states("hibernated"), None);
    }

    #[test]
    fn zones_and_reservations_come_from_the_id() {
        let id: ServerId = "0f1ee7c0-ffee-4abc-8def-0123456789ab"
            .parse()
            .expect("uuid");
        let zone = zone_of(id, "eu-west-1");
        assert!(["eu-west-1a", "eu-west-1b", "eu-west-1c"].contains(&zone.as_str()));
        assert_eq!(zone, zone_of(id, "eu-west-1"));
        assert_eq!(reservation_id(id), "r-c8def0123456789ab");
        assert_eq!(
            private_dns_name("10.0.0.1", "us-east-1"),
            "ip-10-0-0-1.ec2.internal"
        );
        assert!(IMAGES.iter().all(|i| i.id.len() == 4 + 17));
    }
}
