//! A steering rule: attributes, pattern and actions, with a builder API.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use dpuflow_flow::{Action, Ipv4Match, Item, Rule, UdpMatch};
//!
//! let rule = Rule::ingress()
//!     .group(1)
//!     .priority(0)
//!     .item(Item::eth())
//!     .item(Ipv4Match::any().src_prefix(Ipv4Addr::new(10, 0, 0, 0), 24))
//!     .item(UdpMatch::any().dst_port(4789))
//!     .action(Action::Count)
//!     .action(Action::Queue(3));
//! assert!(rule.validate().is_ok());
//! ```

use super::action::Action;
use super::item::Item;

/// Which traffic domain a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Traffic received by the port (NIC Rx).
    Ingress,
    /// Traffic transmitted by the port (NIC Tx).
    Egress,
    /// Traffic switched by the embedded switch (e-switch / FDB).
    Transfer,
}

impl Direction {
    /// The testpmd attribute token.
    pub fn testpmd_name(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
            Direction::Transfer => "transfer",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.testpmd_name())
    }
}

/// Rule attributes (`rte_flow_attr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attributes {
    /// Group (table); lookup starts in group 0.
    pub group: u32,
    /// Priority within the group; lower value wins.
    pub priority: u32,
    /// Traffic domain.
    pub direction: Direction,
}

/// One steering rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Attributes.
    pub attr: Attributes,
    /// Pattern items, outermost first.
    pub pattern: Vec<Item>,
    /// Actions, applied in order.
    pub actions: Vec<Action>,
}

impl Rule {
    /// An empty rule in `direction`, group 0, priority 0.
    pub fn new(direction: Direction) -> Self {
        Rule {
            attr: Attributes {
                group: 0,
                priority: 0,
                direction,
            },
            pattern: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// An empty ingress rule.
    pub fn ingress() -> Self {
        Self::new(Direction::Ingress)
    }

    /// An empty egress rule.
    pub fn egress() -> Self {
        Self::new(Direction::Egress)
    }

    /// An empty transfer (e-switch) rule.
    pub fn transfer() -> Self {
        Self::new(Direction::Transfer)
    }

    /// Sets the group.
    pub fn group(mut self, group: u32) -> Self {
        self.attr.group = group;
        self
    }

    /// Sets the priority (lower wins).
    pub fn priority(mut self, priority: u32) -> Self {
        self.attr.priority = priority;
        self
    }

    /// Appends one pattern item.
    pub fn item(mut self, item: impl Into<Item>) -> Self {
        self.pattern.push(item.into());
        self
    }

    /// Appends pattern items.
    pub fn pattern(mut self, items: impl IntoIterator<Item = Item>) -> Self {
        self.pattern.extend(items);
        self
    }

    /// Appends one action.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// Appends actions.
    pub fn actions(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.actions.extend(actions);
        self
    }

    /// The fate action, if any.
    pub fn fate(&self) -> Option<&Action> {
        self.actions.iter().find(|a| a.kind().is_fate())
    }

    /// The group a matching packet continues in (`Jump` fate), if any.
    pub fn jump_target(&self) -> Option<u32> {
        self.fate().and_then(Action::jump_target)
    }
}
