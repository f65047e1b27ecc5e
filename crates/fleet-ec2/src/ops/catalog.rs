//! DescribeRegions, DescribeAvailabilityZones, DescribeInstanceTypes and DescribeImages:
//! fleet's catalog as EC2 describes its offer. Names a request lists that fleet lacks are
//! refused with EC2's codes.

use super::{Call, answer};
use crate::errors::Ec2Error;
use crate::mapping::{self, IMAGES, ZONE_LETTERS};
use crate::xml::{
    DescribeImagesResponse, DescribeInstanceTypesResponse, DescribeRegionsResponse,
    DescribeZonesResponse, Head, Image, InstanceTypeInfo, Items, MemoryInfo, ProcessorInfo, Region,
    VCpuInfo, Zone,
};

pub(super) fn describe_regions(call: &Call<'_>) -> Result<String, Ec2Error> {
    let catalog = call.state.servers.catalog();
    let names = call.params.list("RegionName")?;
    if let Some(bad) = names.iter().find(|n| catalog.region(n).is_none()) {
        return Err(Ec2Error::invalid_parameter(format!(
            "Invalid region: {bad}"
        )));
    }
    let regions = catalog
        .regions()
        .iter()
        .filter(|r| names.is_empty() || names.contains(&r.name))
        .map(|r| Region {
            region_name: r.name.clone(),
            region_endpoint: format!("{}/ec2", call.host),
            opt_in_status: "opt-in-not-required",
        })
        .collect::<Vec<_>>();
    answer(
        "DescribeRegions",
        &DescribeRegionsResponse {
            head: Head::of(&call.request_id),
            region_info: regions.into(),
        },
    )
}

pub(super) fn describe_zones(call: &Call<'_>) -> Result<String, Ec2Error> {
    let region = &call.region;
    let all: Vec<String> = ZONE_LETTERS
        .iter()
        .map(|l| format!("{region}{l}"))
        .collect();
    let names = call.params.list("ZoneName")?;
    if let Some(bad) = names.iter().find(|n| !all.contains(n)) {
        return Err(Ec2Error::invalid_parameter(format!(
            "The zone '{bad}' does not exist in {region}"
        )));
    }
    let zones = all
        .iter()
        .enumerate()
        .filter(|(_, name)| names.is_empty() || names.contains(name))
        .map(|(i, name)| Zone {
            zone_name: name.clone(),
            zone_state: "available",
            region_name: region.clone(),
            zone_id: format!("{region}-az{}", i + 1),
            zone_type: "availability-zone",
            opt_in_status: "opt-in-not-required",
            group_name: region.clone(),
            network_border_group: region.clone(),
            message_set: Items::default(),
        })
        .collect::<Vec<_>>();
    answer(
        "DescribeAvailabilityZones",
        &DescribeZonesResponse {
            head: Head::of(&call.request_id),
            availability_zone_info: zones.into(),
        },
    )
}

pub(super) fn describe_instance_types(call: &Call<'_>) -> Result<String, Ec2Error> {
    let catalog = call.state.servers.catalog();
    let names = call.params.list("InstanceType")?;
    if let Some(bad) = names.iter().find(|n| catalog.server_type(n).is_none()) {
        return Err(Ec2Error::client(
            "InvalidInstanceType",
            format!("The following supplied instance types do not exist: [{bad}]"),
        ));
    }
    let types = catalog
        .server_types()
        .iter()
        .filter(|t| names.is_empty() || names.contains(&t.name))
        .map(|t| InstanceTypeInfo {
            instance_type: t.name.clone(),
            current_generation: true,
            free_tier_eligible: false,
            supported_usage_classes: vec!["on-demand"].into(),
            supported_root_device_types: vec!["ebs"].into(),
            supported_virtualization_types: vec!["hvm"].into(),
            bare_metal: false,
            hypervisor: "xen",
            processor_info: ProcessorInfo {
                supported_architectures: vec!["x86_64"].into(),
            },
            v_cpu_info: VCpuInfo {
                default_v_cpus: t.vcpus,
                default_cores: t.vcpus,
                default_threads_per_core: 1,
            },
            memory_info: MemoryInfo {
                size_in_mib: t.memory_mib,
            },
            instance_storage_supported: false,
        })
        .collect::<Vec<_>>();
    answer(
        "DescribeInstanceTypes",
        &DescribeInstanceTypesResponse {
            head: Head::of(&call.request_id),
            instance_type_set: types.into(),
        },
    )
}

pub(super) fn describe_images(call: &Call<'_>) -> Result<String, Ec2Error> {
    let ids = call.params.list("ImageId")?;
    if let Some(bad) = ids.iter().find(|id| mapping::image(id).is_none()) {
        return Err(Ec2Error::client(
            "InvalidAMIID.NotFound",
            format!("The image id '[{bad}]' does not exist"),
        ));
    }
    let images = IMAGES
        .iter()
        .filter(|image| ids.is_empty() || ids.iter().any(|id| id == image.id))
        .map(|image| Image {
            image_id: image.id,
            image_location: format!("fleet/{}", image.name),
            image_state: "available",
            image_owner_id: mapping::OWNER_ID,
            creation_date: "2026-01-01T00:00:00.000Z",
            is_public: true,
            architecture: "x86_64",
            image_type: "machine",
            name: image.name,
            description: image.description,
            root_device_type: "ebs",
            root_device_name: "/dev/xvda",
            block_device_mapping: Items::default(),
            virtualization_type: "hvm",
            hypervisor: "xen",
            platform_details: "Linux/UNIX",
            tag_set: Items::default(),
        })
        .collect::<Vec<_>>();
    answer(
        "DescribeImages",
        &DescribeImagesResponse {
            head: Head::of(&call.request_id),
            images_set: images.into(),
        },
    )
}
