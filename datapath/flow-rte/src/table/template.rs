//! The async API's setup: `rte_flow_configure` of a port's flow queue, and
//! the pattern template + actions template + template table of each rule
//! shape, destroyed table first.

use std::ptr;

use dpuflow_sys as sys;

use super::{error, last_errno, FlowTableConfig};
use crate::compile::RteRule;
use crate::error::FlowError;

/// Templates and table of one rule shape (async API).
pub(crate) struct Shape {
    pub(crate) pattern: *mut sys::rte_flow_pattern_template,
    pub(crate) actions: *mut sys::rte_flow_actions_template,
    pub(crate) table: *mut sys::rte_flow_template_table,
}

pub(crate) fn configure(port: u16, config: &FlowTableConfig) -> Result<(), FlowError> {
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

pub(crate) fn create_shape(port: u16, c: &RteRule, nb_flows: u32) -> Result<Shape, FlowError> {
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
            -last_errno(),
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
        // rte_errno first: the destroy below may overwrite it.
        let e = FlowError::from_dpdk(
            "rte_flow_actions_template_create",
            port,
            &err,
            -last_errno(),
            Some(c),
        );
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
        let e = FlowError::from_dpdk(
            "rte_flow_template_table_create",
            port,
            &err,
            -last_errno(),
            Some(c),
        );
        // Best effort: the templates are not used by any table.
        let _ = destroy_shape(port, shape);
        return Err(e);
    }
    Ok(shape)
}

/// Destroys the table, then its templates; on failure gives the shape back
/// (whatever is still live stays referenced by it).
pub(crate) fn destroy_shape(port: u16, mut shape: Shape) -> Result<(), (FlowError, Shape)> {
    let mut err = error();
    if !shape.table.is_null() {
        // SAFETY: a live table of this port with no rule left in it.
        let ret = unsafe { sys::rte_flow_template_table_destroy(port, shape.table, &mut err) };
        if ret != 0 {
            let e = FlowError::from_dpdk("rte_flow_template_table_destroy", port, &err, ret, None);
            return Err((e, shape));
        }
        shape.table = ptr::null_mut();
    }
    let mut first = None;
    if !shape.actions.is_null() {
        // SAFETY: a live actions template of this port; its table is gone.
        let ret = unsafe { sys::rte_flow_actions_template_destroy(port, shape.actions, &mut err) };
        if ret == 0 {
            shape.actions = ptr::null_mut();
        } else {
            first = Some(FlowError::from_dpdk(
                "rte_flow_actions_template_destroy",
                port,
                &err,
                ret,
                None,
            ));
        }
    }
    if !shape.pattern.is_null() {
        // SAFETY: a live pattern template of this port; its table is gone.
        let ret = unsafe { sys::rte_flow_pattern_template_destroy(port, shape.pattern, &mut err) };
        if ret == 0 {
            shape.pattern = ptr::null_mut();
        } else {
            first.get_or_insert(FlowError::from_dpdk(
                "rte_flow_pattern_template_destroy",
                port,
                &err,
                ret,
                None,
            ));
        }
    }
    match first {
        None => Ok(()),
        Some(e) => Err((e, shape)),
    }
}
