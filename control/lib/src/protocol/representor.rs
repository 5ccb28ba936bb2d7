//! Names of the representor ports on the DPU.
//!
//! A VF given to a host pod shows up on the DPU as a representor whose
//! `phys_port_name` is `pf<pf>vf<vf>` (or `c1pf<pf>vf<vf>` on DPUs where
//! the host is controller 1); the netdev is typically named the same. The
//! host PF's representor is `pf<pf>hpf`; the uplink is `p<pf>`.

use std::fmt;
use std::str::FromStr;

/// A VF representor: physical function `pf`, virtual function `vf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VfRepresentor {
    /// Physical function (0 or 1 on BlueField).
    pub pf: u16,
    /// Virtual function index on that PF.
    pub vf: u16,
}

impl VfRepresentor {
    /// The representor's usual netdev name, `pf<pf>vf<vf>`.
    pub fn name(self) -> String {
        format!("pf{}vf{}", self.pf, self.vf)
    }

    /// Every `phys_port_name` this representor may report:
    /// `pf<pf>vf<vf>` and `c1pf<pf>vf<vf>`.
    pub fn phys_port_names(self) -> [String; 2] {
        [self.name(), format!("c1{}", self.name())]
    }
}

impl fmt::Display for VfRepresentor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pf{}vf{}", self.pf, self.vf)
    }
}

/// Why a representor name did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a VF representor name (pf<N>vf<M> or c<C>pf<N>vf<M>)")]
pub struct RepresentorParseError(pub String);

impl FromStr for VfRepresentor {
    type Err = RepresentorParseError;

    /// Parses `pf0vf3`, and also `c1pf0vf3` (the controller is dropped).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || RepresentorParseError(s.to_string());
        let rest = strip_controller(s).ok_or_else(err)?;
        let rest = rest.strip_prefix("pf").ok_or_else(err)?;
        let (pf, vf) = rest.split_once("vf").ok_or_else(err)?;
        Ok(VfRepresentor {
            pf: parse_index(pf).ok_or_else(err)?,
            vf: parse_index(vf).ok_or_else(err)?,
        })
    }
}

/// Strips a leading `c<digits>` controller prefix, if any.
fn strip_controller(s: &str) -> Option<&str> {
    match s.strip_prefix('c') {
        Some(rest) => {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            (digits > 0).then(|| &rest[digits..])
        }
        None => Some(s),
    }
}

/// A decimal index without sign or leading zeros (except `0` itself).
fn parse_index(s: &str) -> Option<u16> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

/// The host PF's representor on the DPU, `pf<pf>hpf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HostPfRepresentor {
    /// Physical function.
    pub pf: u16,
}

impl HostPfRepresentor {
    /// The representor's name, `pf<pf>hpf`.
    pub fn name(self) -> String {
        format!("pf{}hpf", self.pf)
    }
}

/// The uplink port of physical function `pf` on the DPU, `p<pf>`.
pub fn uplink_name(pf: u16) -> String {
    format!("p{pf}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let r = VfRepresentor { pf: 0, vf: 3 };
        assert_eq!(r.name(), "pf0vf3");
        assert_eq!(
            r.phys_port_names(),
            ["pf0vf3".to_string(), "c1pf0vf3".to_string()]
        );
        assert_eq!(HostPfRepresentor { pf: 0 }.name(), "pf0hpf");
        assert_eq!(uplink_name(1), "p1");
    }

    #[test]
    fn parse() {
        assert_eq!("pf1vf12".parse(), Ok(VfRepresentor { pf: 1, vf: 12 }));
        assert_eq!("c1pf0vf3".parse(), Ok(VfRepresentor { pf: 0, vf: 3 }));
        for bad in [
            "", "pf0", "vf3", "pf0vf", "pfvf3", "pf0vf03", "pf-1vf3", "cpf0vf3", "pf0hpf",
            "pf0vf3x",
        ] {
            assert!(bad.parse::<VfRepresentor>().is_err(), "{bad}");
        }
    }
}
