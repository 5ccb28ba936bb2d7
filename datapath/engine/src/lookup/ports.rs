//! The datapath's ports and their roles, chosen by configuration: the
//! uplink (Geneve to other nodes, the outside), the host PF representor
//! (the host's own traffic), and pod representors (VFs of pods and of the
//! management port).

/// What a port is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortRole {
    /// The uplink (`p0`).
    Uplink,
    /// The host PF representor (`pf0hpf`).
    HostPf,
    /// A VF representor: a pod's, or the management port's.
    Pod,
}

/// Ports by DPDK port id, with the pod bound to each pod port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ports {
    names: Vec<(String, u16)>,
    roles: Vec<Option<PortRole>>,
    pods: Vec<Option<u32>>,
    /// The first uplink and host PF port, found once (every packet asks).
    uplink: Option<u16>,
    host_pf: Option<u16>,
}

impl Ports {
    /// No ports.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds port `id`, named `name` (the netdev name tables refer to).
    pub fn add(&mut self, name: impl Into<String>, id: u16, role: PortRole) {
        let at = usize::from(id);
        if self.roles.len() <= at {
            self.roles.resize(at + 1, None);
            self.pods.resize(at + 1, None);
        }
        self.roles[at] = Some(role);
        self.names.push((name.into(), id));
        match role {
            PortRole::Uplink => self.uplink = self.uplink.or(Some(id)),
            PortRole::HostPf => self.host_pf = self.host_pf.or(Some(id)),
            PortRole::Pod => {}
        }
    }

    /// The uplink.
    #[inline]
    pub fn uplink(&self) -> Option<u16> {
        self.uplink
    }

    /// The host PF representor.
    #[inline]
    pub fn host_pf(&self) -> Option<u16> {
        self.host_pf
    }

    /// The id of the port named `name`.
    pub fn id_of(&self, name: &str) -> Option<u16> {
        self.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, id)| id)
    }

    /// The name of port `id`.
    pub fn name_of(&self, id: u16) -> Option<&str> {
        self.names
            .iter()
            .find(|&&(_, i)| i == id)
            .map(|(n, _)| n.as_str())
    }

    /// The role of port `id`, if it is a datapath port.
    #[inline]
    pub fn role(&self, id: u16) -> Option<PortRole> {
        self.roles.get(usize::from(id)).copied().flatten()
    }

    /// The pod (index into [`super::Compiled::pods`]) on pod port `id`.
    #[inline]
    pub fn pod_on(&self, id: u16) -> Option<u32> {
        self.pods.get(usize::from(id)).copied().flatten()
    }

    /// Every port id, in the order added.
    pub fn ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.names.iter().map(|&(_, id)| id)
    }

    pub(crate) fn bind_pod(&mut self, id: u16, pod: u32) {
        if let Some(slot) = self.pods.get_mut(usize::from(id)) {
            *slot = Some(pod);
        }
    }
}
