//! [`FlowTable`] as the datapath's rte_flow [`OffloadBackend`]: its
//! [`FlowError`]s become [`OffloadError`]s of the kind the PMD's errno and
//! message say.

use dpuflow_flow::offload::{Capacity, OffloadBackend, OffloadError, RuleStats};
use dpuflow_flow::Rule;

use super::{FlowApi, FlowHandle, FlowTable};
use crate::error::FlowError;

impl From<FlowError> for OffloadError {
    fn from(e: FlowError) -> Self {
        use dpuflow_flow::offload::OffloadErrorKind as K;
        let kind = match &e {
            FlowError::Compile(_) | FlowError::UnknownHandle(_) => K::Invalid,
            FlowError::Dpdk { errno, message, .. } => K::from_errno(*errno, message),
            // No errno comes with an async completion: the message decides
            // (Invalid unless it says more).
            FlowError::OpFailed { .. } => K::from_errno(0, &e.to_string()),
            FlowError::Timeout { .. } | FlowError::NotCompleted(_) => K::Transient,
        };
        OffloadError::new(kind, e.to_string())
    }
}

impl OffloadBackend for FlowTable {
    type Handle = FlowHandle;

    fn name(&self) -> &'static str {
        "rte_flow"
    }

    fn insert(&mut self, rule: &Rule) -> Result<FlowHandle, OffloadError> {
        Ok(FlowTable::insert(self, rule)?)
    }

    /// Queues every rule, commits once, and gives each rule its own result:
    /// a rule whose completion failed gets its error, the others keep their
    /// handles. A commit that times out leaves the rules still in flight
    /// with their handles (the next commit reports them).
    fn insert_batch(&mut self, rules: &[Rule], out: &mut Vec<Result<FlowHandle, OffloadError>>) {
        out.clear();
        out.extend(
            rules
                .iter()
                .map(|r| FlowTable::insert(self, r).map_err(OffloadError::from)),
        );
        let mut failed = Vec::new();
        let _ = self.commit_each(&mut failed);
        for (handle, e) in failed {
            match out.iter_mut().find(|r| matches!(r, Ok(h) if *h == handle)) {
                // Only failed creates are ours to report here: a failed
                // create's handle is gone.
                Some(slot) if !self.contains(handle) => *slot = Err(e.into()),
                // Another operation's failure (an earlier remove): keep it
                // for the next commit.
                _ => self.failures.push((handle, e)),
            }
        }
    }

    fn remove(&mut self, handle: FlowHandle) -> Result<(), OffloadError> {
        Ok(FlowTable::remove(self, handle)?)
    }

    fn commit(&mut self) -> Result<(), OffloadError> {
        Ok(FlowTable::commit(self)?)
    }

    fn query(&self, handle: FlowHandle) -> Result<RuleStats, OffloadError> {
        let rule = self.installed(handle)?;
        if !rule.count && !rule.age {
            return Err(OffloadError::new(
                dpuflow_flow::offload::OffloadErrorKind::Invalid,
                format!("rte_flow rule {} has neither COUNT nor AGE", handle.0),
            ));
        }
        let mut stats = RuleStats::default();
        if rule.count {
            let c = self.query_count(handle)?;
            stats.hits = c.hits;
            stats.bytes = c.bytes;
        }
        if rule.age {
            stats.idle_secs = self.query_idle(handle)?;
        }
        Ok(stats)
    }

    fn aged(&mut self, out: &mut Vec<FlowHandle>) -> Result<(), OffloadError> {
        out.extend(self.aged_flows()?);
        Ok(())
    }

    /// `installed` counts queued rules too. The sync API reports no limit
    /// (`None`); with the async API the limit is what the template tables
    /// made so far hold (`rules_per_table` each; a new rule shape adds a
    /// table, so it grows), and `None` before the first one.
    fn capacity(&self) -> Capacity {
        let limit = match self.api {
            FlowApi::Sync => None,
            FlowApi::Async if self.shapes.is_empty() => None,
            FlowApi::Async => usize::try_from(self.config.rules_per_table)
                .ok()
                .map(|n| n.saturating_mul(self.shapes.len())),
        };
        Capacity {
            installed: self.rules.len(),
            limit,
        }
    }
}
