//! [`DocaBackend`] behind the datapath's [`OffloadBackend`] interface.
//!
//! DOCA Flow is process-global and, in switch mode (transfer rules, the DPU
//! case), every started port of the e-switch shares its switch manager, so
//! the interface takes rules without a port: they go to the first started
//! port's pipes. In vnf mode that is only right with one started port; with
//! more, [`DocaBackend::add_rule`] names the port.

use dpuflow_flow::doca::plan::DocaMapError;
use dpuflow_flow::{Capacity, OffloadBackend, OffloadError, OffloadErrorKind, Rule, RuleStats};

use super::{sys, DocaBackend, DocaBackendError, DocaMode, RuleHandle};

impl DocaBackendError {
    /// What the offload manager does about this error.
    pub fn kind(&self) -> OffloadErrorKind {
        use DocaBackendError as E;
        use OffloadErrorKind as K;
        match self {
            E::Doca { code, .. } => code_kind(*code),
            E::Map(DocaMapError::Invalid(_)) => K::Invalid,
            E::Map(_) | E::GeneveOptionNotInParser { .. } | E::TooManyGeneveOptions => {
                K::Unsupported
            }
            // DOCA reports no reason for a failed entry; with hardware
            // steering it is almost always a resource limit.
            E::EntryFailed(_) => K::TableFull,
            E::EntryPending(_) => K::Transient,
            E::NullHandle(_)
            | E::AlreadyInitialised
            | E::InvalidConfig(_)
            | E::PortNotStarted(_)
            | E::PortAlreadyStarted(_)
            | E::ModeMismatch { .. }
            | E::NoSwitchPort(_)
            | E::UnknownRule(_)
            | E::NoCounter(_) => K::Invalid,
        }
    }
}

/// The kind of a `doca_error_t` (DOCA 2.7 `doca_error.h`).
fn code_kind(code: sys::doca_error_t) -> OffloadErrorKind {
    use OffloadErrorKind as K;
    match code {
        sys::DOCA_ERROR_NOT_SUPPORTED | sys::DOCA_ERROR_TOO_BIG => K::Unsupported,
        sys::DOCA_ERROR_NO_MEMORY | sys::DOCA_ERROR_FULL => K::TableFull,
        sys::DOCA_ERROR_AGAIN
        | sys::DOCA_ERROR_IN_USE
        | sys::DOCA_ERROR_TIME_OUT
        | sys::DOCA_ERROR_IN_PROGRESS
        | sys::DOCA_ERROR_NO_LOCK => K::Transient,
        _ => K::Invalid,
    }
}

impl From<DocaBackendError> for OffloadError {
    fn from(e: DocaBackendError) -> Self {
        OffloadError::new(e.kind(), format!("doca: {e}"))
    }
}

impl DocaBackend {
    /// The port rules without one go to (see the module docs).
    fn default_port(&self) -> Result<u16, DocaBackendError> {
        match (self.mode(), self.ports()) {
            (_, []) => Err(DocaBackendError::InvalidConfig("no DOCA port started")),
            (DocaMode::Vnf, [_, _, ..]) => Err(DocaBackendError::InvalidConfig(
                "vnf mode with several ports: name the port (add_rule)",
            )),
            (_, [first, ..]) => Ok(first.dpdk_port_id()),
        }
    }
}

impl OffloadBackend for DocaBackend {
    type Handle = RuleHandle;

    fn name(&self) -> &'static str {
        "doca"
    }

    fn insert(&mut self, rule: &Rule) -> Result<RuleHandle, OffloadError> {
        let port = self.default_port()?;
        Ok(self.add_rule(port, rule)?)
    }

    fn remove(&mut self, handle: RuleHandle) -> Result<(), OffloadError> {
        Ok(self.remove_rule(handle)?)
    }

    fn commit(&mut self) -> Result<(), OffloadError> {
        // add_rule and remove_rule process their queue before returning.
        Ok(())
    }

    fn query(&self, handle: RuleHandle) -> Result<RuleStats, OffloadError> {
        let c = DocaBackend::query(self, handle)?;
        Ok(RuleStats {
            hits: c.packets,
            bytes: c.bytes,
            idle_secs: None,
        })
    }

    fn aged(&mut self, out: &mut Vec<RuleHandle>) -> Result<(), OffloadError> {
        out.extend(self.handle_aging()?);
        Ok(())
    }

    fn capacity(&self) -> Capacity {
        Capacity {
            installed: self.rule_count(),
            limit: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doca_codes_map_to_what_the_manager_does() {
        use OffloadErrorKind as K;
        let kind = |code| code_kind(code);
        assert_eq!(kind(sys::DOCA_ERROR_NOT_SUPPORTED), K::Unsupported);
        assert_eq!(kind(sys::DOCA_ERROR_FULL), K::TableFull);
        assert_eq!(kind(sys::DOCA_ERROR_NO_MEMORY), K::TableFull);
        assert_eq!(kind(sys::DOCA_ERROR_AGAIN), K::Transient);
        assert_eq!(kind(sys::DOCA_ERROR_INVALID_VALUE), K::Invalid);
        assert_eq!(
            DocaBackendError::EntryPending(RuleHandle(1)).kind(),
            K::Transient
        );
        assert_eq!(
            DocaBackendError::UnknownRule(RuleHandle(1)).kind(),
            K::Invalid
        );
    }
}
