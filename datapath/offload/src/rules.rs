//! One connection direction's treatment as one exact-match rule.

use dpuflow_engine::offload::Treatment;
use dpuflow_flow::Rule;

/// What the rules depend on beyond the treatment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSettings {
    /// Ports that are representors of one switch domain (the uplink, the
    /// host PF and the pods' VFs on a BlueField): a transfer rule can match
    /// traffic from one and send it to another.
    pub transfer_ports: Vec<u16>,
}

/// Why a connection direction gets no rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotEligible {
    /// A port of the treatment is not a representor in the switch domain.
    OutsideSwitchDomain {
        /// The port.
        port: u16,
    },
}

impl NotEligible {
    /// A short stable name (metric labels, `dpuflow flows`).
    pub fn as_str(self) -> &'static str {
        match self {
            NotEligible::OutsideSwitchDomain { .. } => "outside_switch_domain",
        }
    }
}

/// The rule that does to the connection direction's next packets what
/// `t` did to this one, aged out after `age_secs` idle seconds.
///
/// # Errors
/// Why the treatment cannot be a rule.
pub fn rule_for(
    t: &Treatment,
    s: &RuleSettings,
    age_secs: Option<u32>,
) -> Result<Rule, NotEligible> {
    let _ = (t, s, age_secs);
    todo!("rules helper")
}
