//! A port's installed rules: created through the template/async API when the
//! port accepts `rte_flow_configure`, else through the sync API. Callers see
//! one interface either way. Every rule still installed when the table is
//! dropped is destroyed then: no hardware rule outlives its table.
//!
//! Async bookkeeping: every enqueued operation (create or destroy) is kept in
//! `ops`, keyed by the token passed to DPDK as `user_data`, until
//! `rte_flow_pull` returns its result. A create's [`RteRule`] (the storage
//! its pattern and actions point into) lives in its op, so it outlives the
//! push and the pull whatever happens to the rule's handle meanwhile. A
//! failed completion is attributed to its own rule (kept in `failures` until
//! [`FlowTable::commit`] reports it); it never becomes another call's error.

use std::collections::HashMap;
use std::ptr::{self, NonNull};
use std::time::{Duration, Instant};

use dpuflow_sys as sys;

use super::compile::{all_queues_rss, PortContext, RteRule};
use super::error::FlowError;
use dpuflow_dpdk::{Port, PortHold};
use dpuflow_flow::{Direction, Rule};

use template::{configure, create_shape, destroy_shape, Shape};

mod offload;
mod template;

/// A rule installed by a [`FlowTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowHandle(u64);

impl FlowHandle {
    /// The handle's number (unique per table).
    pub fn id(&self) -> u64 {
        self.0
    }
}

/// Which API the table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowApi {
    /// `rte_flow_create` / `rte_flow_destroy`, one call per rule.
    Sync,
    /// Template tables + `rte_flow_async_create`, pushed in batches.
    Async,
}

/// How to set a table up.
#[derive(Debug, Clone)]
pub struct FlowTableConfig {
    /// Try the template/async API first.
    pub prefer_async: bool,
    /// Flow queue depth (async).
    pub queue_size: u32,
    /// Async operations per push/pull.
    pub batch: usize,
    /// Rules per template table (async).
    pub rules_per_table: u32,
    /// Counters to reserve (async `rte_flow_port_attr.nb_counters`).
    pub counters: u32,
    /// How long a commit waits for the completions of pushed operations
    /// before it gives up with [`FlowError::Timeout`] (async).
    pub pull_timeout: Duration,
}

impl Default for FlowTableConfig {
    fn default() -> Self {
        Self {
            prefer_async: true,
            queue_size: 256,
            batch: 64,
            rules_per_table: 65_536,
            counters: 65_536,
            pull_timeout: Duration::from_secs(1),
        }
    }
}

/// Packet and byte hits of a rule's COUNT action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowCount {
    /// Packets.
    pub hits: u64,
    /// Bytes.
    pub bytes: u64,
}

#[derive(Debug)]
struct Installed {
    flow: NonNull<sys::rte_flow>,
    port: u16,
    /// False while its async create has not completed.
    created: bool,
    /// Whether its actions hold COUNT / AGE (what `query` may ask for).
    count: bool,
    age: bool,
}

/// An async operation DPDK has accepted and not yet completed.
enum Op {
    /// Creates rule `id`; DPDK may read `spec` until the result is pulled.
    Create { id: u64, _spec: Box<RteRule> },
    /// Destroys rule `id` (kept to restore it if the destroy fails).
    Destroy { id: u64, rule: Installed },
}

/// The rules installed on one port.
pub struct FlowTable {
    port: u16,
    proxy: u16,
    api: FlowApi,
    config: FlowTableConfig,
    rules: HashMap<u64, Installed>,
    shapes: HashMap<Vec<u8>, Shape>,
    /// Async operations in flight, by `user_data` token.
    ops: HashMap<u64, Op>,
    next_op: u64,
    /// Completed operations that failed, not yet reported by `commit`.
    failures: Vec<(FlowHandle, FlowError)>,
    next: u64,
    _port: PortHold,
    /// rte_flow calls on one port are made from one thread here.
    _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
}

// SAFETY: the raw rte_flow handles are only used through `&mut self`, and
// DPDK allows flow calls from any thread as long as they are not concurrent
// on one port (the table is !Sync, so they are not). The RteRule arenas in
// `ops` are owned by the table and move with it.
unsafe impl Send for FlowTable {}

impl std::fmt::Debug for FlowTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowTable")
            .field("port", &self.port)
            .field("proxy", &self.proxy)
            .field("api", &self.api)
            .field("rules", &self.rules.len())
            .field("in_flight", &self.ops.len())
            .finish()
    }
}

fn error() -> sys::rte_flow_error {
    sys::rte_flow_error::default()
}

/// The calling thread's `rte_errno`, read right after a failed call.
fn last_errno() -> i32 {
    dpuflow_dpdk::Errno::last().0
}

fn has_action(compiled: &RteRule, ty: u32) -> bool {
    compiled.action_types().any(|t| t == ty)
}

impl FlowTable {
    /// A table for `port`. With `prefer_async`, `rte_flow_configure` is tried
    /// and the table falls back to the sync API when the PMD refuses it.
    /// Transfer rules go to the port `rte_flow_pick_transfer_proxy` names.
    pub fn new(port: &Port, config: FlowTableConfig) -> Self {
        let id = port.id();
        let mut proxy = id;
        let mut err = error();
        // SAFETY: valid port; out-pointers to locals.
        if unsafe { sys::rte_flow_pick_transfer_proxy(id, &mut proxy, &mut err) } != 0 {
            proxy = id;
        }
        let api = if config.prefer_async && configure(id, &config).is_ok() {
            FlowApi::Async
        } else {
            FlowApi::Sync
        };
        Self {
            port: id,
            proxy,
            api,
            config,
            rules: HashMap::new(),
            shapes: HashMap::new(),
            ops: HashMap::new(),
            next_op: 1,
            failures: Vec::new(),
            next: 1,
            _port: port.hold(),
            _not_sync: std::marker::PhantomData,
        }
    }

    /// The API in use.
    pub fn api(&self) -> FlowApi {
        self.api
    }

    /// Rules installed (including async ones not yet completed).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule is installed.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `handle` names a rule of this table (installed or queued).
    pub fn contains(&self, handle: FlowHandle) -> bool {
        self.rules.contains_key(&handle.0)
    }

    /// Async operations enqueued whose results have not been pulled yet.
    pub fn in_flight(&self) -> usize {
        self.ops.len()
    }

    fn target(&self, rule: &Rule) -> u16 {
        if rule.attr.direction == Direction::Transfer {
            self.proxy
        } else {
            self.port
        }
    }

    fn is_async(&self, port: u16) -> bool {
        self.api == FlowApi::Async && port == self.port
    }

    /// Asks the PMD whether it would accept `rule` (`rte_flow_validate`).
    ///
    /// # Errors
    /// [`FlowError::Compile`] or the PMD's [`FlowError::Dpdk`].
    pub fn validate(&self, rule: &Rule) -> Result<(), FlowError> {
        let port = self.target(rule);
        let compiled = compile_on(port, rule)?;
        let mut err = error();
        // SAFETY: END-terminated arrays owned by `compiled`, alive for the call.
        let ret = unsafe {
            sys::rte_flow_validate(
                port,
                compiled.attr(),
                compiled.items().as_ptr(),
                compiled.actions().as_ptr(),
                &mut err,
            )
        };
        if ret != 0 {
            return Err(FlowError::from_dpdk(
                "rte_flow_validate",
                port,
                &err,
                ret,
                Some(&compiled),
            ));
        }
        Ok(())
    }

    /// Installs `rule`. In async mode the create is queued and pushed with
    /// its batch; [`FlowTable::commit`] pushes what is left and reports
    /// queued creates that failed.
    ///
    /// When this insert fills the batch, the batch is pushed and pulled:
    /// this call then fails only if *this* rule's create failed; other
    /// rules' failures wait for [`FlowTable::commit`].
    ///
    /// # Errors
    /// [`FlowError::Compile`], or the PMD's refusal as [`FlowError::Dpdk`] /
    /// [`FlowError::OpFailed`].
    pub fn insert(&mut self, rule: &Rule) -> Result<FlowHandle, FlowError> {
        let port = self.target(rule);
        let mut compiled = compile_on(port, rule)?;
        compiled.set_age_context(usize::try_from(self.next).unwrap_or(usize::MAX));
        if self.is_async(port) {
            return self.insert_async(port, compiled);
        }
        let mut err = error();
        // SAFETY: END-terminated arrays owned by `compiled`; the sync API
        // copies what it needs before returning.
        let flow = unsafe {
            sys::rte_flow_create(
                port,
                compiled.attr(),
                compiled.items().as_ptr(),
                compiled.actions().as_ptr(),
                &mut err,
            )
        };
        let flow = NonNull::new(flow).ok_or_else(|| {
            FlowError::from_dpdk(
                "rte_flow_create",
                port,
                &err,
                -last_errno(),
                Some(&compiled),
            )
        })?;
        Ok(self.track(flow, port, true, &compiled))
    }

    fn track(
        &mut self,
        flow: NonNull<sys::rte_flow>,
        port: u16,
        created: bool,
        compiled: &RteRule,
    ) -> FlowHandle {
        let id = self.next;
        self.next += 1;
        self.rules.insert(
            id,
            Installed {
                flow,
                port,
                created,
                count: has_action(compiled, sys::RTE_FLOW_ACTION_TYPE_COUNT),
                age: has_action(compiled, sys::RTE_FLOW_ACTION_TYPE_AGE),
            },
        );
        FlowHandle(id)
    }

    fn token(&mut self) -> u64 {
        let t = self.next_op;
        self.next_op += 1;
        t
    }

    fn insert_async(&mut self, port: u16, compiled: RteRule) -> Result<FlowHandle, FlowError> {
        let table = self.shape_table(port, &compiled)?;
        let mut op = sys::rte_flow_op_attr::default();
        op.set_postpone(1);
        let mut err = error();
        let token = self.token();
        let user = usize::try_from(token).unwrap_or(usize::MAX) as *mut std::ffi::c_void;
        // The arena must not move while DPDK may read it: box it first, then
        // hand out pointers into the boxed value.
        let spec = Box::new(compiled);
        // SAFETY: `table` is a live template table of this port; the arrays
        // point into `spec`, which the Op::Create entry owns until the
        // operation's result is pulled.
        let flow = unsafe {
            sys::rte_flow_async_create(
                port,
                0,
                &op,
                table,
                spec.items().as_ptr(),
                0,
                spec.actions().as_ptr(),
                0,
                user,
                &mut err,
            )
        };
        let flow = NonNull::new(flow).ok_or_else(|| {
            FlowError::from_dpdk(
                "rte_flow_async_create",
                port,
                &err,
                -last_errno(),
                Some(&spec),
            )
        })?;
        let handle = self.track(flow, port, false, &spec);
        self.ops.insert(
            token,
            Op::Create {
                id: handle.0,
                _spec: spec,
            },
        );
        if self.ops.len() >= self.config.batch.max(1) {
            // Other rules' failures stay in `failures` for commit(); a
            // timeout leaves the batch in flight for the next commit.
            let _ = self.flush();
            if let Some(e) = self.take_failure(handle) {
                return Err(e);
            }
        }
        Ok(handle)
    }

    /// Removes and returns the recorded failure of `handle`, if any.
    fn take_failure(&mut self, handle: FlowHandle) -> Option<FlowError> {
        let i = self.failures.iter().position(|(h, _)| *h == handle)?;
        Some(self.failures.remove(i).1)
    }

    /// The template table for `compiled`'s shape, made on first use.
    fn shape_table(
        &mut self,
        port: u16,
        compiled: &RteRule,
    ) -> Result<*mut sys::rte_flow_template_table, FlowError> {
        let mut key = compiled.pattern_shape().to_vec();
        key.extend(compiled.action_types().flat_map(u32::to_le_bytes));
        let a = compiled.attr();
        key.extend(a.group.to_le_bytes());
        key.extend(a.priority.to_le_bytes());
        key.extend([a.ingress() as u8, a.egress() as u8, a.transfer() as u8]);
        if let Some(s) = self.shapes.get(&key) {
            return Ok(s.table);
        }
        let shape = create_shape(port, compiled, self.config.rules_per_table)?;
        let table = shape.table;
        self.shapes.insert(key, shape);
        Ok(table)
    }

    /// Pushes queued async operations and waits (at most
    /// [`FlowTableConfig::pull_timeout`]) for their results. Sync tables
    /// have nothing to do.
    ///
    /// # Errors
    /// The first operation that failed since the last commit (its rule is
    /// gone; [`FlowTable::commit_each`] names every one), a push or pull
    /// error, or [`FlowError::Timeout`].
    pub fn commit(&mut self) -> Result<(), FlowError> {
        let mut failed = Vec::new();
        self.commit_each(&mut failed)?;
        failed.into_iter().next().map_or(Ok(()), |(_, e)| Err(e))
    }

    /// Like [`FlowTable::commit`], but appends to `failed` every operation
    /// that failed since the last commit, with its rule's handle: a failed
    /// create's handle no longer names a rule; a failed destroy's rule is
    /// still installed under its handle.
    ///
    /// # Errors
    /// A push or pull error, or [`FlowError::Timeout`]; `failed` is filled
    /// either way.
    pub fn commit_each(
        &mut self,
        failed: &mut Vec<(FlowHandle, FlowError)>,
    ) -> Result<(), FlowError> {
        let result = self.flush();
        failed.append(&mut self.failures);
        result
    }

    /// Push, then pull until no operation is in flight or the timeout.
    fn flush(&mut self) -> Result<(), FlowError> {
        if self.ops.is_empty() {
            return Ok(());
        }
        let mut err = error();
        // SAFETY: valid port configured with one flow queue.
        let ret = unsafe { sys::rte_flow_push(self.port, 0, &mut err) };
        if ret != 0 {
            return Err(FlowError::from_dpdk(
                "rte_flow_push",
                self.port,
                &err,
                ret,
                None,
            ));
        }
        self.pull()
    }

    fn pull(&mut self) -> Result<(), FlowError> {
        const N: u16 = 64;
        let mut results = [sys::rte_flow_op_result::default(); N as usize];
        let start = Instant::now();
        while !self.ops.is_empty() {
            let mut err = error();
            // SAFETY: `results` has N writable entries.
            let n = unsafe { sys::rte_flow_pull(self.port, 0, results.as_mut_ptr(), N, &mut err) };
            if n < 0 {
                return Err(FlowError::from_dpdk(
                    "rte_flow_pull",
                    self.port,
                    &err,
                    n,
                    None,
                ));
            }
            let n = usize::try_from(n).unwrap_or(0).min(results.len());
            for r in &results[..n] {
                self.complete(
                    r.user_data as usize as u64,
                    r.status == sys::RTE_FLOW_OP_SUCCESS,
                );
            }
            if n == 0 {
                let waited = start.elapsed();
                if waited >= self.config.pull_timeout {
                    return Err(FlowError::Timeout {
                        port: self.port,
                        in_flight: self.ops.len(),
                        waited,
                    });
                }
                std::thread::yield_now();
            }
        }
        Ok(())
    }

    /// Applies one pulled result.
    fn complete(&mut self, token: u64, ok: bool) {
        let port = self.port;
        match self.ops.remove(&token) {
            Some(Op::Create { id, .. }) => {
                if ok {
                    if let Some(rule) = self.rules.get_mut(&id) {
                        rule.created = true;
                    }
                } else {
                    // The PMD did not install it: nothing to destroy.
                    self.rules.remove(&id);
                    self.failures.push((
                        FlowHandle(id),
                        FlowError::OpFailed {
                            call: "rte_flow_async_create",
                            port,
                            handle: id,
                        },
                    ));
                }
            }
            // Still installed: keep it, so it can be removed again and is
            // destroyed with the table.
            Some(Op::Destroy { id, rule }) if !ok => {
                self.rules.insert(id, rule);
                self.failures.push((
                    FlowHandle(id),
                    FlowError::OpFailed {
                        call: "rte_flow_async_destroy",
                        port,
                        handle: id,
                    },
                ));
            }
            Some(Op::Destroy { .. }) => {}
            // Not one of ours (e.g. completed after a table of the same port
            // was dropped): nothing to track.
            None => {}
        }
    }

    /// Removes one rule. A rule whose async create is still in flight is
    /// committed first (its create must complete before it can be
    /// destroyed).
    ///
    /// # Errors
    /// [`FlowError::UnknownHandle`], [`FlowError::Timeout`] (the create has
    /// not completed: the rule stays), or the PMD's error (the rule stays).
    pub fn remove(&mut self, handle: FlowHandle) -> Result<(), FlowError> {
        let created = self
            .rules
            .get(&handle.0)
            .ok_or(FlowError::UnknownHandle(handle.0))?
            .created;
        if !created {
            self.flush()?;
            if !self.rules.contains_key(&handle.0) {
                // Its create failed: it is not installed, which is what the
                // caller wants.
                self.take_failure(handle);
                return Ok(());
            }
        }
        let rule = self
            .rules
            .remove(&handle.0)
            .ok_or(FlowError::UnknownHandle(handle.0))?;
        self.destroy(handle.0, rule)
    }

    fn destroy(&mut self, id: u64, rule: Installed) -> Result<(), FlowError> {
        let mut err = error();
        if self.is_async(rule.port) {
            let op = sys::rte_flow_op_attr::default();
            let token = self.token();
            let user = usize::try_from(token).unwrap_or(usize::MAX) as *mut std::ffi::c_void;
            // SAFETY: `flow` was created by async_create on this port/queue,
            // its create completed, and it was not destroyed yet.
            let ret = unsafe {
                sys::rte_flow_async_destroy(rule.port, 0, &op, rule.flow.as_ptr(), user, &mut err)
            };
            if ret != 0 {
                let e = FlowError::from_dpdk("rte_flow_async_destroy", rule.port, &err, ret, None);
                self.rules.insert(id, rule);
                return Err(e);
            }
            self.ops.insert(token, Op::Destroy { id, rule });
            if self.ops.len() >= self.config.batch.max(1) {
                let _ = self.flush();
                if let Some(e) = self.take_failure(FlowHandle(id)) {
                    return Err(e);
                }
            }
            return Ok(());
        }
        // SAFETY: `flow` was created on `rule.port` and not destroyed yet.
        let ret = unsafe { sys::rte_flow_destroy(rule.port, rule.flow.as_ptr(), &mut err) };
        if ret != 0 {
            let e = FlowError::from_dpdk("rte_flow_destroy", rule.port, &err, ret, None);
            self.rules.insert(id, rule);
            return Err(e);
        }
        Ok(())
    }

    fn installed(&self, handle: FlowHandle) -> Result<&Installed, FlowError> {
        let rule = self
            .rules
            .get(&handle.0)
            .ok_or(FlowError::UnknownHandle(handle.0))?;
        if !rule.created {
            return Err(FlowError::NotCompleted(handle.0));
        }
        Ok(rule)
    }

    /// Runs `rte_flow_query` for one action of `rule` into `data`.
    fn query_action<T>(&self, rule: &Installed, ty: u32, data: &mut T) -> Result<(), FlowError> {
        let action = [
            sys::rte_flow_action {
                type_: ty,
                conf: ptr::null(),
            },
            sys::rte_flow_action {
                type_: sys::RTE_FLOW_ACTION_TYPE_END,
                conf: ptr::null(),
            },
        ];
        let mut err = error();
        // SAFETY: live flow on that port; `data` is the type the action
        // fills (the callers pair COUNT with rte_flow_query_count and AGE
        // with rte_flow_query_age), writable for the call.
        let ret = unsafe {
            sys::rte_flow_query(
                rule.port,
                rule.flow.as_ptr(),
                action.as_ptr(),
                ptr::from_mut(data).cast(),
                &mut err,
            )
        };
        if ret != 0 {
            return Err(FlowError::from_dpdk(
                "rte_flow_query",
                rule.port,
                &err,
                ret,
                None,
            ));
        }
        Ok(())
    }

    /// Reads a rule's COUNT action.
    ///
    /// # Errors
    /// [`FlowError::UnknownHandle`], [`FlowError::NotCompleted`] or the
    /// PMD's error (e.g. no COUNT).
    pub fn query_count(&self, handle: FlowHandle) -> Result<FlowCount, FlowError> {
        let rule = self.installed(handle)?;
        let mut count = sys::rte_flow_query_count::default();
        self.query_action(rule, sys::RTE_FLOW_ACTION_TYPE_COUNT, &mut count)?;
        Ok(FlowCount {
            hits: count.hits,
            bytes: count.bytes,
        })
    }

    /// Seconds since a rule's last hit, from its AGE action (`None` when the
    /// PMD says it has no valid value).
    ///
    /// # Errors
    /// [`FlowError::UnknownHandle`], [`FlowError::NotCompleted`] or the
    /// PMD's error (e.g. no AGE).
    pub fn query_idle(&self, handle: FlowHandle) -> Result<Option<u32>, FlowError> {
        let rule = self.installed(handle)?;
        let mut age = sys::rte_flow_query_age::default();
        self.query_action(rule, sys::RTE_FLOW_ACTION_TYPE_AGE, &mut age)?;
        Ok((age.sec_since_last_hit_valid() != 0).then(|| age.sec_since_last_hit()))
    }

    /// Rules whose AGE action timed out since the last call (on the port and
    /// its transfer proxy).
    ///
    /// # Errors
    /// The PMD's error (e.g. no aging support).
    pub fn aged_flows(&self) -> Result<Vec<FlowHandle>, FlowError> {
        let mut out = Vec::new();
        let mut ports = vec![self.port];
        if self.proxy != self.port {
            ports.push(self.proxy);
        }
        for port in ports {
            let mut contexts = [ptr::null_mut::<std::ffi::c_void>(); 256];
            let mut err = error();
            // SAFETY: `contexts` has 256 writable slots.
            let n =
                unsafe { sys::rte_flow_get_aged_flows(port, contexts.as_mut_ptr(), 256, &mut err) };
            if n < 0 {
                return Err(FlowError::from_dpdk(
                    "rte_flow_get_aged_flows",
                    port,
                    &err,
                    n,
                    None,
                ));
            }
            let n = usize::try_from(n).unwrap_or(0).min(contexts.len());
            out.extend(
                contexts[..n]
                    .iter()
                    .map(|c| *c as usize as u64)
                    .filter(|id| self.rules.contains_key(id))
                    .map(FlowHandle),
            );
        }
        Ok(out)
    }

    /// Completes every outstanding async operation, destroys every rule of
    /// the table, then the async templates and tables (only once no rule
    /// and no operation refers to them).
    ///
    /// # Errors
    /// The first failure (including earlier operations' failures not yet
    /// reported by a commit); the other rules are still destroyed. Rules
    /// whose destroy failed, and operations that did not complete in time,
    /// stay in the table (with the templates they use) for a later `clear`.
    pub fn clear(&mut self) -> Result<(), FlowError> {
        let mut first: Option<FlowError> = None;
        let mut note = |e: FlowError| {
            first.get_or_insert(e);
        };
        if let Err(e) = self.flush() {
            note(e);
        }
        let ids: Vec<u64> = self
            .rules
            .iter()
            .filter(|(_, r)| r.created)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(rule) = self.rules.remove(&id) {
                if let Err(e) = self.destroy(id, rule) {
                    note(e);
                }
            }
        }
        if let Err(e) = self.flush() {
            note(e);
        }
        for (_, e) in self.failures.drain(..) {
            note(e);
        }
        if self.rules.is_empty() && self.ops.is_empty() {
            let shapes: Vec<(Vec<u8>, Shape)> = self.shapes.drain().collect();
            for (key, shape) in shapes {
                if let Err((e, shape)) = destroy_shape(self.port, shape) {
                    note(e);
                    self.shapes.insert(key, shape);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for FlowTable {
    fn drop(&mut self) {
        let _ = self.clear();
        // What is left could not be completed or destroyed: the PMD may
        // still read the specs of in-flight creates and use the templates,
        // so they are leaked rather than freed under it.
        for (_, op) in self.ops.drain() {
            std::mem::forget(op);
        }
    }
}

/// Compiles `rule` for `port`; only a rule with RSS over every Rx queue
/// asks the port for its queue count.
fn compile_on(port: u16, rule: &Rule) -> Result<RteRule, FlowError> {
    if all_queues_rss(rule).is_none() {
        return Ok(RteRule::compile(rule)?);
    }
    let mut info = sys::rte_eth_dev_info::default();
    // SAFETY: `port` is a valid port id held by the table; `info` is a
    // writable rte_eth_dev_info.
    let ret = unsafe { sys::rte_eth_dev_info_get(port, &mut info) };
    if ret != 0 {
        let err = error();
        return Err(FlowError::from_dpdk(
            "rte_eth_dev_info_get",
            port,
            &err,
            ret,
            None,
        ));
    }
    Ok(RteRule::compile_for(
        rule,
        PortContext {
            rx_queues: info.nb_rx_queues,
        },
    )?)
}
