//! Annotation keys and node labels of the OVN-Kubernetes DPU protocol.

/// Pod: the pod's addresses, MAC, gateways and routes per network, written
/// by the DPU side ([`super::PodNetworks`]).
pub const POD_NETWORKS: &str = "k8s.ovn.org/pod-networks";
/// Pod: which VF the host CNI gave the pod, written by the host side
/// ([`super::DpuConnectionDetailsMap`]).
pub const DPU_CONNECTION_DETAILS: &str = "k8s.ovn.org/dpu.connection-details";
/// Pod: whether the DPU side wired the pod's representor, written by the
/// DPU side ([`super::DpuConnectionStatusMap`]).
pub const DPU_CONNECTION_STATUS: &str = "k8s.ovn.org/dpu.connection-status";

/// Node: the node's pod subnet(s) per network, written by the cluster
/// manager ([`super::NodeSubnets`]).
pub const NODE_SUBNETS: &str = "k8s.ovn.org/node-subnets";
/// Node: the OVN chassis id (a UUID), written once by the DPU side
/// ([`super::ChassisId`]).
pub const NODE_CHASSIS_ID: &str = "k8s.ovn.org/node-chassis-id";
/// Node: the tunnel endpoint address(es), written by the DPU side
/// ([`super::EncapIps`]).
pub const NODE_ENCAP_IPS: &str = "k8s.ovn.org/node-encap-ips";
/// Node: the primary interface's address per family, written by the DPU
/// side ([`super::IfAddrs`]).
pub const NODE_PRIMARY_IFADDR: &str = "k8s.ovn.org/node-primary-ifaddr";
/// Node: the shared-gateway configuration, written by the DPU side
/// ([`super::L3GatewayConfigs`]).
pub const L3_GATEWAY_CONFIG: &str = "k8s.ovn.org/l3-gateway-config";
/// Node: the host's primary address per family, written by the dpu-host
/// side ([`super::IfAddrs`]).
pub const PRIMARY_DPU_HOST_ADDR: &str = "k8s.ovn.org/primary-dpu-host-addr";
/// Node: the management port VF per network, written by the dpu-host side
/// ([`super::MgmtPorts`]).
pub const NODE_MGMT_PORT: &str = "k8s.ovn.org/node-mgmt-port";
/// Node: every address/prefix on the host, written by the dpu-host side
/// ([`super::HostCidrs`]).
pub const HOST_CIDRS: &str = "k8s.ovn.org/host-cidrs";

/// Label on host-cluster nodes whose networking is provided by a DPU.
pub const DPU_HOST_LABEL: &str = "k8s.ovn.org/dpu-host";
/// Label on DPU-cluster nodes (the DPUs themselves).
pub const DPU_LABEL: &str = "k8s.ovn.org/dpu";
