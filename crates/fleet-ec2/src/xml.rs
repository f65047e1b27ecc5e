//! The XML of EC2's answers, as serde structs quick-xml writes: the element names are EC2's
//! (`instanceState`, `reason`, `tagSet`), every list is a wrapper of `<item>` elements, and
//! every answer starts with its `requestId` in EC2's namespace.

use serde::Serialize;

/// EC2's XML namespace for API version 2016-11-15.
pub const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// A list: `<name><item>…</item>…</name>`, `<name/>` when empty.
#[derive(Debug, Clone, Serialize)]
pub struct Items<T> {
    /// The members.
    pub item: Vec<T>,
}

impl<T> From<Vec<T>> for Items<T> {
    fn from(item: Vec<T>) -> Self {
        Self { item }
    }
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Self { item: Vec::new() }
    }
}

/// What opens every answer.
#[derive(Debug, Clone, Serialize)]
pub struct Head {
    /// EC2's namespace.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The request's id.
    #[serde(rename = "requestId")]
    pub request_id: String,
}

impl Head {
    /// The head of the answer to request `id`.
    pub fn of(id: &str) -> Self {
        Self {
            xmlns: NAMESPACE,
            request_id: id.to_owned(),
        }
    }
}

/// `{code, name}` of an instance's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InstanceState {
    /// EC2's state code.
    pub code: u16,
    /// EC2's state name.
    pub name: &'static str,
}

/// A tag of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagItem {
    /// Its key.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// Where an instance is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The zone, `REGION` and a letter.
    pub availability_zone: String,
    /// No placement groups here.
    pub group_name: &'static str,
    /// Always shared hardware.
    pub tenancy: &'static str,
}

/// `{code, message}` of why an instance is out of service.
#[derive(Debug, Clone, Serialize)]
pub struct StateReasonXml {
    /// EC2's reason code.
    pub code: &'static str,
    /// Its message.
    pub message: String,
}

/// Monitoring, which fleet does not offer.
#[derive(Debug, Clone, Serialize)]
pub struct Monitoring {
    /// `disabled`.
    pub state: &'static str,
}

/// An instance's CPU options.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuOptions {
    /// Cores (its type's vCPUs).
    pub core_count: u32,
    /// One thread per core.
    pub threads_per_core: u32,
}

/// An instance, as DescribeInstances and RunInstances show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub instance_id: String,
    pub image_id: String,
    pub instance_state: InstanceState,
    pub private_dns_name: String,
    pub dns_name: &'static str,
    /// `StateTransitionReason`.
    pub reason: String,
    pub ami_launch_index: u32,
    pub product_codes: Items<()>,
    pub instance_type: String,
    pub launch_time: String,
    pub placement: Placement,
    pub monitoring: Monitoring,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip_address: Option<String>,
    pub group_set: Items<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<StateReasonXml>,
    pub architecture: &'static str,
    pub root_device_type: &'static str,
    pub root_device_name: &'static str,
    pub block_device_mapping: Items<()>,
    pub virtualization_type: &'static str,
    pub tag_set: Items<TagItem>,
    pub hypervisor: &'static str,
    pub ebs_optimized: bool,
    pub cpu_options: CpuOptions,
    pub platform_details: &'static str,
}

/// A group of instances launched together; here, one launch or one instance.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub reservation_id: String,
    pub owner_id: String,
    pub group_set: Items<()>,
    pub instances_set: Items<Instance>,
}

/// The answer to RunInstances: a reservation's fields under the root.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInstancesResponse {
    #[serde(flatten)]
    pub head: Head,
    pub reservation_id: String,
    pub owner_id: String,
    pub group_set: Items<()>,
    pub instances_set: Items<Instance>,
}

/// The answer to DescribeInstances.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeInstancesResponse {
    #[serde(flatten)]
    pub head: Head,
    pub reservation_set: Items<Reservation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// One instance's state before and after an action.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateChange {
    pub instance_id: String,
    pub current_state: InstanceState,
    pub previous_state: InstanceState,
}

/// The answer to Start/Stop/TerminateInstances.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateChangesResponse {
    #[serde(flatten)]
    pub head: Head,
    pub instances_set: Items<StateChange>,
}

/// The answer of an action with no output: `<return>true</return>`.
#[derive(Debug, Clone, Serialize)]
pub struct ReturnResponse {
    #[serde(flatten)]
    pub head: Head,
    /// Always true: a failure is an error answer.
    #[serde(rename = "return")]
    pub ok: bool,
}

/// A status check's detail.
#[derive(Debug, Clone, Serialize)]
pub struct StatusDetail {
    /// `reachability`.
    pub name: &'static str,
    /// `passed`, `initializing`.
    pub status: &'static str,
}

/// A status check's summary.
#[derive(Debug, Clone, Serialize)]
pub struct StatusSummary {
    /// `ok`, `initializing`, `not-applicable`.
    pub status: &'static str,
    /// Its details.
    pub details: Items<StatusDetail>,
}

/// One instance's status.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceStatus {
    pub instance_id: String,
    pub availability_zone: String,
    pub instance_state: InstanceState,
    pub system_status: StatusSummary,
    pub instance_status: StatusSummary,
    pub events_set: Items<()>,
}

/// The answer to DescribeInstanceStatus.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeInstanceStatusResponse {
    #[serde(flatten)]
    pub head: Head,
    pub instance_status_set: Items<InstanceStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A tag with the resource it is on.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagDescription {
    pub resource_id: String,
    pub resource_type: &'static str,
    pub key: String,
    pub value: String,
}

/// The answer to DescribeTags.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTagsResponse {
    #[serde(flatten)]
    pub head: Head,
    pub tag_set: Items<TagDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A region.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub region_name: String,
    pub region_endpoint: String,
    pub opt_in_status: &'static str,
}

/// The answer to DescribeRegions.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeRegionsResponse {
    #[serde(flatten)]
    pub head: Head,
    pub region_info: Items<Region>,
}

/// An availability zone.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    pub zone_name: String,
    pub zone_state: &'static str,
    pub region_name: String,
    pub zone_id: String,
    pub zone_type: &'static str,
    pub opt_in_status: &'static str,
    pub group_name: String,
    pub network_border_group: String,
    pub message_set: Items<()>,
}

/// The answer to DescribeAvailabilityZones.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeZonesResponse {
    #[serde(flatten)]
    pub head: Head,
    pub availability_zone_info: Items<Zone>,
}

/// vCPUs of a type.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VCpuInfo {
    pub default_v_cpus: u32,
    pub default_cores: u32,
    pub default_threads_per_core: u32,
}

/// Memory of a type.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryInfo {
    /// MiB.
    #[serde(rename = "sizeInMiB")]
    pub size_in_mib: u32,
}

/// Processors of a type.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessorInfo {
    pub supported_architectures: Items<&'static str>,
}

/// A server type as an instance type.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceTypeInfo {
    pub instance_type: String,
    pub current_generation: bool,
    pub free_tier_eligible: bool,
    pub supported_usage_classes: Items<&'static str>,
    pub supported_root_device_types: Items<&'static str>,
    pub supported_virtualization_types: Items<&'static str>,
    pub bare_metal: bool,
    pub hypervisor: &'static str,
    pub processor_info: ProcessorInfo,
    #[serde(rename = "vCpuInfo")]
    pub v_cpu_info: VCpuInfo,
    pub memory_info: MemoryInfo,
    pub instance_storage_supported: bool,
}

/// The answer to DescribeInstanceTypes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeInstanceTypesResponse {
    #[serde(flatten)]
    pub head: Head,
    pub instance_type_set: Items<InstanceTypeInfo>,
}

/// An image.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub image_id: &'static str,
    pub image_location: String,
    pub image_state: &'static str,
    pub image_owner_id: &'static str,
    pub creation_date: &'static str,
    pub is_public: bool,
    pub architecture: &'static str,
    pub image_type: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub root_device_type: &'static str,
    pub root_device_name: &'static str,
    pub block_device_mapping: Items<()>,
    pub virtualization_type: &'static str,
    pub hypervisor: &'static str,
    pub platform_details: &'static str,
    pub tag_set: Items<()>,
}

/// The answer to DescribeImages.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeImagesResponse {
    #[serde(flatten)]
    pub head: Head,
    pub images_set: Items<Image>,
}

/// An error answer: `<Response><Errors><Error>…</Error></Errors><RequestID>…`.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorResponse {
    /// The errors; EC2 sends one.
    #[serde(rename = "Errors")]
    pub errors: ErrorList,
    /// The request's id (spelled `RequestID` here, unlike a success's `requestId`).
    #[serde(rename = "RequestID")]
    pub request_id: String,
}

/// The `<Errors>` element.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorList {
    /// The error.
    #[serde(rename = "Error")]
    pub error: ErrorItem,
}

/// One error.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorItem {
    /// EC2's code.
    #[serde(rename = "Code")]
    pub code: &'static str,
    /// For a person.
    #[serde(rename = "Message")]
    pub message: String,
}

/// `body` as the XML document of root `root`.
pub fn document(root: &str, body: &impl Serialize) -> Result<String, quick_xml::SeError> {
    let xml = quick_xml::se::to_string_with_root(root, body)?;
    Ok(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{xml}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_open_with_the_namespace_and_request_id_and_lists_hold_items() {
        let xml = document(
            "DescribeRegionsResponse",
            &DescribeRegionsResponse {
                head: Head::of("req-1"),
                region_info: vec![Region {
                    region_name: "us-east-1".into(),
                    region_endpoint: "ec2.us-east-1 & <more>".into(),
                    opt_in_status: "opt-in-not-required",
                }]
                .into(),
            },
        )
        .expect("xml");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
             <requestId>req-1</requestId><regionInfo><item><regionName>us-east-1</regionName>\
             <regionEndpoint>ec2.us-east-1 &amp; &lt;more&gt;</regionEndpoint>\
             <optInStatus>opt-in-not-required</optInStatus></item></regionInfo>\
             </DescribeRegionsResponse>"
        );
    }

    #[test]
    fn empty_lists_are_empty_elements_and_errors_take_ec2_s_shape() {
        let xml = document(
            "DescribeImagesResponse",
            &DescribeImagesResponse {
                head: Head::of("r"),
                images_set: Items::default(),
            },
        )
        .expect("xml");
        assert!(xml.contains("<imagesSet/>"), "{xml}");
        let error = document(
            "Response",
            &ErrorResponse {
                errors: ErrorList {
                    error: ErrorItem {
                        code: "AuthFailure",
                        message: "no".into(),
                    },
                },
                request_id: "r".into(),
            },
        )
        .expect("xml");
        assert!(error.ends_with(
            "<Response><Errors><Error><Code>AuthFailure</Code><Message>no</Message></Error>\
             </Errors><RequestID>r</RequestID></Response>"
        ));
    }
}
