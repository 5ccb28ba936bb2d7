//! A port's installed rules: created through the template/async API when the
//! port accepts `rte_flow_configure`, else through the sync API. Callers see
//! one interface either way. Every rule still installed when the table is
//! dropped is destroyed then: no hardware rule outlives its table.

use std::collections::HashMap;
use std::ptr::{self, NonNull};

use dpuflow_sys as sys;

use super::compile::RteRule;
use super::error::FlowError;
use dpuflow_dpdk::{Port, PortHold};
use dpuflow_flow::{Direction, Rule};

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
}

impl Default for FlowTableConfig {
    fn default() -> Self {
        Self {
            prefer_async: true,
            queue_size: 256,
            batch: 64,
            rules_per_table: 65_536,
            counters: 65_536,
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

struct Installed {
    flow: NonNull<sys::rte_flow>,
    port: u16,
    /// Kept while an async create may still read it (boxed: most entries
    /// hold none).
    pending: Option<Box<RteRule>>,
}

/// Templates and table of one rule shape (async API).
struct Shape {
    pattern: *mut sys::rte_flow_pattern_template,
    actions: *mut sys::rte_flow_actions_template,
    table: *mut sys::rte_flow_template_table,
}

/// The rules installed on one port.
pub struct FlowTable {
    port: u16,
    proxy: u16,
    api: FlowApi,
    config: FlowTableConfig,
    rules: HashMap<u64, Installed>,
    shapes: HashMap<Vec<u8>, Shape>,
    in_flight: usize,
    next: u64,
    _port: PortHold,
    /// rte_flow calls on one port are made from one thread here.
    _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
}

// SAFETY: the raw rte_flow handles are only used through `&mut self`, and
// DPDK allows flow calls from any thread as long as they are not concurrent
// on one port (the table is !Sync, so they are not).
unsafe impl Send for FlowTable {}

impl std::fmt::Debug for FlowTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowTable")
            .field("port", &self.port)
            .field("proxy", &self.proxy)
            .field("api", &self.api)
            .field("rules", &self.rules.len())
            .finish()
    }
}

fn error() -> sys::rte_flow_error {
    sys::rte_flow_error::default()
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
            in_flight: 0,
            next: 1,
            _port: port.hold(),
            _not_sync: std::marker::PhantomData,
        }
    }

    /// The API in use.
    pub fn api(&self) -> FlowApi {
        self.api
    }

    /// Rules installed (including async ones not yet pushed).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule is installed.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn target(&self, rule: &Rule) -> u16 {
        if rule.attr.direction == Direction::Transfer {
            self.proxy
        } else {
            self.port
        }
    }

    /// Asks the PMD whether it would accept `rule` (`rte_flow_validate`).
    ///
    /// # Errors
    /// [`FlowError::Compile`] or the PMD's [`FlowError::Dpdk`].
    pub fn validate(&self, rule: &Rule) -> Result<(), FlowError> {
        let compiled = RteRule::compile(rule)?;
        let port = self.target(rule);
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
    /// its batch; [`FlowTable::commit`] pushes what is left.
    ///
    /// # Errors
    /// [`FlowError::Compile`], or the PMD's refusal as [`FlowError::Dpdk`].
    pub fn insert(&mut self, rule: &Rule) -> Result<FlowHandle, FlowError> {
        let mut compiled = RteRule::compile(rule)?;
        compiled.set_age_context(self.next as usize);
        let port = self.target(rule);
        if self.api == FlowApi::Async && port == self.port {
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
                -dpuflow_dpdk::Errno::last().0,
                Some(&compiled),
            )
        })?;
        Ok(self.track(flow, port, None))
    }

    fn track(
        &mut self,
        flow: NonNull<sys::rte_flow>,
        port: u16,
        pending: Option<Box<RteRule>>,
    ) -> FlowHandle {
        let id = self.next;
        self.next += 1;
        self.rules.insert(
            id,
            Installed {
                flow,
                port,
                pending,
            },
        );
        FlowHandle(id)
    }

    fn insert_async(&mut self, port: u16, compiled: RteRule) -> Result<FlowHandle, FlowError> {
        let table = self.shape_table(port, &compiled)?;
        let mut op = sys::rte_flow_op_attr::default();
        op.set_postpone(1);
        let mut err = error();
        let user = self.next as usize as *mut std::ffi::c_void;
        // SAFETY: `table` is a live template table of this port; the arrays
        // stay alive in the Installed entry until the op is pulled.
        let flow = unsafe {
            sys::rte_flow_async_create(
                port,
                0,
                &op,
                table,
                compiled.items().as_ptr(),
                0,
                compiled.actions().as_ptr(),
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
                -dpuflow_dpdk::Errno::last().0,
                Some(&compiled),
            )
        })?;
        let handle = self.track(flow, port, Some(Box::new(compiled)));
        self.in_flight += 1;
        if self.in_flight >= self.config.batch.max(1) {
            self.commit()?;
        }
        Ok(handle)
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

    /// Pushes queued async operations and waits for their results. Sync
    /// tables have nothing to do.
    ///
    /// # Errors
    /// The first failed operation (its rule is forgotten).
    pub fn commit(&mut self) -> Result<(), FlowError> {
        if self.in_flight == 0 {
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
        let mut results = [sys::rte_flow_op_result::default(); 64];
        let mut first_error = None;
        let mut spins = 0u32;
        while self.in_flight > 0 && spins < 1_000_000 {
            spins += 1;
            let mut err = error();
            // SAFETY: `results` has 64 writable entries.
            let n = unsafe { sys::rte_flow_pull(self.port, 0, results.as_mut_ptr(), 64, &mut err) };
            if n < 0 {
                return Err(FlowError::from_dpdk(
                    "rte_flow_pull",
                    self.port,
                    &err,
                    n,
                    None,
                ));
            }
            for r in &results[..usize::try_from(n).unwrap_or(0)] {
                self.in_flight = self.in_flight.saturating_sub(1);
                let id = r.user_data as usize as u64;
                if r.status == sys::RTE_FLOW_OP_SUCCESS {
                    if let Some(rule) = self.rules.get_mut(&id) {
                        rule.pending = None;
                    }
                } else {
                    self.rules.remove(&id);
                    first_error.get_or_insert(FlowError::UnknownHandle(id));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Removes one rule.
    ///
    /// # Errors
    /// [`FlowError::UnknownHandle`] or the PMD's error.
    pub fn remove(&mut self, handle: FlowHandle) -> Result<(), FlowError> {
        let rule = self
            .rules
            .remove(&handle.0)
            .ok_or(FlowError::UnknownHandle(handle.0))?;
        self.destroy(rule)
    }

    fn destroy(&mut self, rule: Installed) -> Result<(), FlowError> {
        let mut err = error();
        let ret = if self.api == FlowApi::Async && rule.port == self.port {
            let op = sys::rte_flow_op_attr::default();
            // SAFETY: `flow` was created by async_create on this port/queue.
            let ret = unsafe {
                sys::rte_flow_async_destroy(
                    rule.port,
                    0,
                    &op,
                    rule.flow.as_ptr(),
                    ptr::null_mut(),
                    &mut err,
                )
            };
            if ret == 0 {
                self.in_flight += 1;
                if self.in_flight >= self.config.batch.max(1) {
                    return self.commit();
                }
                return Ok(());
            }
            ret
        } else {
            // SAFETY: `flow` was created on `rule.port` and not destroyed yet.
            unsafe { sys::rte_flow_destroy(rule.port, rule.flow.as_ptr(), &mut err) }
        };
        if ret != 0 {
            return Err(FlowError::from_dpdk(
                "rte_flow_destroy",
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
    /// [`FlowError::UnknownHandle`] or the PMD's error (e.g. no COUNT).
    pub fn query_count(&self, handle: FlowHandle) -> Result<FlowCount, FlowError> {
        let rule = self
            .rules
            .get(&handle.0)
            .ok_or(FlowError::UnknownHandle(handle.0))?;
        let action = [
            sys::rte_flow_action {
                type_: sys::RTE_FLOW_ACTION_TYPE_COUNT,
                conf: ptr::null(),
            },
            sys::rte_flow_action {
                type_: sys::RTE_FLOW_ACTION_TYPE_END,
                conf: ptr::null(),
            },
        ];
        let mut count = sys::rte_flow_query_count::default();
        let mut err = error();
        // SAFETY: live flow on that port; `count` is the data type COUNT fills.
        let ret = unsafe {
            sys::rte_flow_query(
                rule.port,
                rule.flow.as_ptr(),
                action.as_ptr(),
                ptr::from_mut(&mut count).cast(),
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
        Ok(FlowCount {
            hits: count.hits,
            bytes: count.bytes,
        })
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

    /// Destroys every rule of the table, then the async templates.
    ///
    /// # Errors
    /// The first failure; the other rules are still destroyed.
    pub fn clear(&mut self) -> Result<(), FlowError> {
        let _ = self.commit();
        let mut first = Ok(());
        let rules: Vec<Installed> = self.rules.drain().map(|(_, r)| r).collect();
        for rule in rules {
            if let Err(e) = self.destroy(rule) {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        for (_, shape) in self.shapes.drain() {
            destroy_shape(self.port, shape);
        }
        first
    }
}

impl Drop for FlowTable {
    fn drop(&mut self) {
        let _ = self.clear();
    }
}

fn configure(port: u16, config: &FlowTableConfig) -> Result<(), FlowError> {
    let port_attr = sys::rte_flow_port_attr {
        nb_counters: config.counters,
        nb_aging_objects: config.counters,
        ..Default::default()
    };
    let queue_attr = sys::rte_flow_queue_attr {
        size: config.queue_size,
    };
    let mut queues = [ptr::from_ref(&queue_attr)];
    let mut err = error();
    // SAFETY: attrs are locals alive for the call; one queue attribute.
    let ret =
        unsafe { sys::rte_flow_configure(port, &port_attr, 1, queues.as_mut_ptr(), &mut err) };
    if ret != 0 {
        return Err(FlowError::from_dpdk(
            "rte_flow_configure",
            port,
            &err,
            ret,
            None,
        ));
    }
    Ok(())
}

fn create_shape(port: u16, c: &RteRule, nb_flows: u32) -> Result<Shape, FlowError> {
    let a = c.attr();
    let mut pattr = sys::rte_flow_pattern_template_attr::default();
    pattr.set_relaxed_matching(0);
    pattr.set_ingress(a.ingress());
    pattr.set_egress(a.egress());
    pattr.set_transfer(a.transfer());
    let mut err = error();
    // SAFETY: END-terminated items owned by `c`; the template copies them.
    let pattern = unsafe {
        sys::rte_flow_pattern_template_create(port, &pattr, c.items().as_ptr(), &mut err)
    };
    if pattern.is_null() {
        return Err(FlowError::from_dpdk(
            "rte_flow_pattern_template_create",
            port,
            &err,
            -1,
            Some(c),
        ));
    }
    let mut aattr = sys::rte_flow_actions_template_attr::default();
    aattr.set_ingress(a.ingress());
    aattr.set_egress(a.egress());
    aattr.set_transfer(a.transfer());
    // SAFETY: END-terminated actions and masks owned by `c`, same length.
    let actions = unsafe {
        sys::rte_flow_actions_template_create(
            port,
            &aattr,
            c.actions().as_ptr(),
            c.action_masks().as_ptr(),
            &mut err,
        )
    };
    if actions.is_null() {
        let e = FlowError::from_dpdk("rte_flow_actions_template_create", port, &err, -1, Some(c));
        // SAFETY: created above, not used by any table.
        unsafe { sys::rte_flow_pattern_template_destroy(port, pattern, &mut err) };
        return Err(e);
    }
    let tattr = sys::rte_flow_template_table_attr {
        flow_attr: *a,
        nb_flows,
    };
    let (mut p, mut t) = ([pattern], [actions]);
    // SAFETY: one live pattern and one live actions template of this port.
    let table = unsafe {
        sys::rte_flow_template_table_create(
            port,
            &tattr,
            p.as_mut_ptr(),
            1,
            t.as_mut_ptr(),
            1,
            &mut err,
        )
    };
    let shape = Shape {
        pattern,
        actions,
        table,
    };
    if table.is_null() {
        let e = FlowError::from_dpdk("rte_flow_template_table_create", port, &err, -1, Some(c));
        destroy_shape(port, shape);
        return Err(e);
    }
    Ok(shape)
}

fn destroy_shape(port: u16, shape: Shape) {
    let mut err = error();
    // SAFETY: each pointer is null or a live object of this port, destroyed
    // once, table first (it references the templates).
    unsafe {
        if !shape.table.is_null() {
            sys::rte_flow_template_table_destroy(port, shape.table, &mut err);
        }
        sys::rte_flow_actions_template_destroy(port, shape.actions, &mut err);
        sys::rte_flow_pattern_template_destroy(port, shape.pattern, &mut err);
    }
}
