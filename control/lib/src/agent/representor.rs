//! Finding the DPDK port behind a VF representor.
//!
//! On a BlueField the representor of host VF `vf` on PF `pf` is the netdev
//! whose `phys_port_name` is `pf<pf>vf<vf>` (or `c1pf<pf>vf<vf>`); DPDK
//! opens it through the PF's devargs (`representor=...`). Machines without
//! such netdevs (CI, a lab) map representors to DPDK ports in the config
//! (`vf-representors`), which wins when set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::protocol::representor::VfRepresentor;

/// Why a representor could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepresentorError {
    /// Neither the config nor sysfs has it.
    #[error("no representor for {rep}: not in vf-representors and no netdev under {sysfs} has phys_port_name {names:?}")]
    NotFound {
        /// The representor asked for.
        rep: String,
        /// Where netdevs were searched.
        sysfs: String,
        /// The phys_port_name values looked for.
        names: [String; 2],
    },
}

/// Resolves representors: config mapping first, then sysfs.
#[derive(Debug, Clone)]
pub struct Representors {
    configured: BTreeMap<VfRepresentor, String>,
    sysfs: PathBuf,
}

impl Representors {
    /// Resolver over `configured` and the netdevs under `sysfs`
    /// (`/sys/class/net` on a real DPU).
    pub fn new(configured: BTreeMap<VfRepresentor, String>, sysfs: impl Into<PathBuf>) -> Self {
        Self {
            configured,
            sysfs: sysfs.into(),
        }
    }

    /// The datapath port name (DPDK device or netdev) of `rep`.
    ///
    /// # Errors
    /// [`RepresentorError::NotFound`] with what was searched.
    pub fn resolve(&self, rep: VfRepresentor) -> Result<String, RepresentorError> {
        if let Some(port) = self.configured.get(&rep) {
            return Ok(port.clone());
        }
        let names = rep.phys_port_names();
        find_netdev(&self.sysfs, &names).ok_or_else(|| RepresentorError::NotFound {
            rep: rep.name(),
            sysfs: self.sysfs.display().to_string(),
            names,
        })
    }
}

fn find_netdev(sysfs: &Path, names: &[String; 2]) -> Option<String> {
    let entries = std::fs::read_dir(sysfs).ok()?;
    entries.flatten().find_map(|e| {
        let ppn = std::fs::read_to_string(e.path().join("phys_port_name")).ok()?;
        let ppn = ppn.trim();
        names
            .iter()
            .any(|n| n == ppn)
            .then(|| e.file_name().to_string_lossy().into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(pf: u16, vf: u16) -> VfRepresentor {
        VfRepresentor { pf, vf }
    }

    #[test]
    fn sysfs_phys_port_name_finds_the_netdev() {
        let dir = std::env::temp_dir().join(format!("dpuflow-sysfs-{}", std::process::id()));
        for (dev, ppn) in [("pf0vf3", "pf0vf3"), ("eth7", "c1pf1vf2"), ("p0", "p0")] {
            std::fs::create_dir_all(dir.join(dev)).expect("mkdir");
            std::fs::write(dir.join(dev).join("phys_port_name"), format!("{ppn}\n"))
                .expect("write");
        }
        let r = Representors::new(BTreeMap::new(), &dir);
        assert_eq!(r.resolve(rep(0, 3)), Ok("pf0vf3".to_string()));
        assert_eq!(r.resolve(rep(1, 2)), Ok("eth7".to_string()), "c1 form");
        let err = r.resolve(rep(0, 9)).expect_err("absent");
        assert!(err.to_string().contains("pf0vf9"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn configured_mapping_wins() {
        let mut map = BTreeMap::new();
        map.insert(rep(0, 3), "net_ring_vf3".to_string());
        let r = Representors::new(map, "/nonexistent");
        assert_eq!(r.resolve(rep(0, 3)), Ok("net_ring_vf3".to_string()));
        assert!(r.resolve(rep(0, 4)).is_err());
    }
}
