//! The DOCA Flow backend (DOCA 2.7 FFI): [`DocaBackend`] installs
//! [`DocaPlan`]s as pipes and entries.
//!
//! Ownership (RAII, torn down in this order by [`DocaBackend`]'s `Drop`):
//!
//! * [`DocaEntry`] — one `doca_flow_pipe_add_entry`; removed explicitly
//!   ([`DocaBackend::remove_rule`], `doca_flow_pipe_rm_entry`) or with its
//!   pipe;
//! * [`DocaPipe`] — `doca_flow_pipe_create`, destroyed on drop
//!   (`doca_flow_pipe_destroy`, which also releases its entries); one per
//!   (port, domain, [`PipeKey`]) plus one empty *anchor* pipe per group;
//! * `GeneveParser` — `doca_flow_parser_geneve_opt_create` on the port that
//!   hosts the pipes, destroyed after them;
//! * [`DocaPort`] — `doca_flow_port_start` on a started DPDK port (devargs =
//!   the decimal DPDK port id, DOCA 2.7), stopped on drop;
//! * [`DocaFlow`] — `doca_flow_init` (one per process), `doca_flow_destroy`
//!   on drop.
//!
//! Entries are added on one pipe queue ([`DocaConfig::queue`]): with
//! [`EntryFlags::NoWait`] (pushed at once) or [`EntryFlags::WaitForBatch`]
//! (pushed with the next non-batched operation), and take effect after
//! `doca_flow_entries_process` ([`DocaBackend::process`]). Completions
//! (including aged entries) arrive through one process-wide
//! `doca_flow_entry_process_cb`; each entry's `usr_ctx` is its
//! [`RuleHandle`] number, never a pointer.
//!
//! Not verified: nothing here has run against a DOCA SDK or hardware. It
//! compiles against ffi-headers/doca/ (`cargo check -p dpuflow-flow-doca`).
#![deny(missing_docs)]

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use dpuflow_sys::doca as sys;
use thiserror::Error;

use dpuflow_flow::doca::plan::{
    ActionsPlan, Be16, Be32, DecTtl, DocaDomain, DocaMapError, DocaMode, DocaPlan, EncapIp,
    EncapPlan, EncapTun, FwdPlan, GeneveOptionWord, GeneveParserSpec, HeaderMatch, HeaderRewrite,
    Ip6Words, L3Match, L3Rewrite, L3Type, L4Match, L4Meta, L4Proto, L4TypeExt, MatchPlan,
    MonitorPlan, PipeKey, RssFlags, TunnelMatch, ENCAP_GENEVE_OPT_WORDS_MAX,
    PARSER_GENEVE_OPTIONS_MAX, SCRATCH_WORDS,
};
use dpuflow_flow::Rule;

// The plan's limits are DOCA's (checked whenever the bindings are built).
const _: () = assert!(SCRATCH_WORDS == sys::DOCA_FLOW_META_SCRATCH_PAD_MAX as usize);
const _: () =
    assert!(ENCAP_GENEVE_OPT_WORDS_MAX == sys::DOCA_FLOW_ENCAP_GENEVE_OPT_LEN_MAX as usize);
const _: () =
    assert!(PARSER_GENEVE_OPTIONS_MAX == sys::DOCA_FLOW_GENEVE_NUM_OF_OPTIONS_MAX as usize);

/// How many `doca_flow_aging_handle` calls one [`DocaBackend::handle_aging`]
/// makes per port at most before giving up on reaching the end of a pass.
const AGING_MAX_CALLS: usize = 1024;

// ------------------------------------------------------------ errors

/// Errors of the DOCA backend.
#[derive(Debug, Error)]
pub enum DocaBackendError {
    /// A DOCA call returned an error.
    #[error("{call} failed: {name} ({descr})")]
    Doca {
        /// The DOCA function.
        call: &'static str,
        /// The `doca_error_t` value.
        code: sys::doca_error_t,
        /// `doca_error_get_name`.
        name: String,
        /// `doca_error_get_descr`.
        descr: String,
    },
    /// A DOCA call succeeded but returned no object.
    #[error("{0} returned a NULL handle")]
    NullHandle(&'static str),
    /// The rule has no DOCA plan.
    #[error(transparent)]
    Map(#[from] DocaMapError),
    /// `doca_flow_init` was already called by this process.
    #[error("DOCA Flow is already initialised in this process")]
    AlreadyInitialised,
    /// The configuration is unusable.
    #[error("invalid DOCA configuration: {0}")]
    InvalidConfig(&'static str),
    /// No DOCA port was started on this DPDK port.
    #[error("DPDK port {0} is not started as a DOCA port")]
    PortNotStarted(u16),
    /// A DOCA port already runs on this DPDK port.
    #[error("DPDK port {0} is already started as a DOCA port")]
    PortAlreadyStarted(u16),
    /// The rule needs the other DOCA mode.
    #[error("the rule needs DOCA {needed:?} mode but DOCA runs in {running:?} mode")]
    ModeMismatch {
        /// Mode the rule needs.
        needed: DocaMode,
        /// Mode DOCA was initialised with.
        running: DocaMode,
    },
    /// `doca_flow_port_switch_get` found no switch manager.
    #[error("port {0} has no switch manager port")]
    NoSwitchPort(u16),
    /// The port's GENEVE parser was created without this option (a parser
    /// cannot be extended while pipes use it).
    #[error("GENEVE option class {class:#06x} type {option_type:#04x} is not in the port's parser; list it in DocaConfig::geneve_options")]
    GeneveOptionNotInParser {
        /// Option class.
        class: u16,
        /// Option type.
        option_type: u8,
    },
    /// More options than one parser holds.
    #[error("more than {PARSER_GENEVE_OPTIONS_MAX} GENEVE options for one parser")]
    TooManyGeneveOptions,
    /// The entry failed in hardware (`DOCA_FLOW_ENTRY_STATUS_ERROR`).
    #[error("entry of rule {0:?} failed")]
    EntryFailed(RuleHandle),
    /// The entry is still in process after [`DocaConfig::process_timeout_us`];
    /// the handle stays valid.
    #[error("entry of rule {0:?} is still in process")]
    EntryPending(RuleHandle),
    /// No rule has this handle.
    #[error("unknown rule {0:?}")]
    UnknownRule(RuleHandle),
    /// The rule has no `count` action.
    #[error("rule {0:?} has no counter")]
    NoCounter(RuleHandle),
}

type Result<T> = std::result::Result<T, DocaBackendError>;

fn c_text(p: *const c_char) -> String {
    if p.is_null() {
        return String::from("?");
    }
    // SAFETY: `p` is non-NULL and comes from doca_error_get_name/descr,
    // which return NUL-terminated strings with static storage.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn doca_error(call: &'static str, code: sys::doca_error_t) -> DocaBackendError {
    // SAFETY: both functions accept any doca_error_t value and return a
    // pointer to a static string (or NULL); nothing is freed.
    let (name, descr) = unsafe {
        (
            sys::doca_error_get_name(code),
            sys::doca_error_get_descr(code),
        )
    };
    DocaBackendError::Doca {
        call,
        code,
        name: c_text(name),
        descr: c_text(descr),
    }
}

fn check(call: &'static str, code: sys::doca_error_t) -> Result<()> {
    if code == sys::DOCA_SUCCESS {
        Ok(())
    } else {
        Err(doca_error(call, code))
    }
}

// ------------------------------------------------------------ configuration

/// How an entry operation is pushed to hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryFlags {
    /// `DOCA_FLOW_NO_WAIT`: push now (and everything batched before).
    NoWait,
    /// `DOCA_FLOW_WAIT_FOR_BATCH`: queue until the next non-batched
    /// operation on the same pipe queue.
    WaitForBatch,
}

impl EntryFlags {
    fn bits(self) -> u32 {
        match self {
            EntryFlags::NoWait => sys::DOCA_FLOW_NO_WAIT,
            EntryFlags::WaitForBatch => sys::DOCA_FLOW_WAIT_FOR_BATCH,
        }
    }
}

/// DOCA Flow settings (`doca_flow_cfg_set_*`) and backend settings.
#[derive(Clone, Debug)]
pub struct DocaConfig {
    /// Mode: [`DocaMode::Switch`] for transfer rules, [`DocaMode::Vnf`] for
    /// ingress/egress rules.
    pub mode: DocaMode,
    /// `doca_flow_cfg_set_pipe_queues` (at least 1).
    pub pipe_queues: u16,
    /// The pipe queue this backend adds and removes entries on.
    pub queue: u16,
    /// `doca_flow_cfg_set_queue_depth`; 0 keeps DOCA's default.
    pub queue_depth: u32,
    /// `doca_flow_cfg_set_nr_counters` (one per counted entry).
    pub nr_counters: u32,
    /// `doca_flow_cfg_set_nr_meters`.
    pub nr_meters: u32,
    /// `doca_flow_cfg_set_nr_shared_resource(.., METER)`; shared meters are
    /// what `meter` actions reference. Configuring and binding them
    /// (`doca_flow_shared_resource_set_cfg` / `_bind`) is not declared in
    /// ffi-headers/doca/ and is not done here.
    pub nr_shared_meters: u32,
    /// `doca_flow_pipe_cfg_set_nr_entries` of each rule pipe.
    pub entries_per_pipe: u32,
    /// Timeout of `doca_flow_entries_process` in microseconds.
    pub process_timeout_us: u64,
    /// Time budget of one `doca_flow_aging_handle` call in microseconds.
    pub aging_quota_us: u64,
    /// GENEVE options every port parser is created with (besides the
    /// option of the first rule that needs a parser).
    pub geneve_options: Vec<GeneveParserSpec>,
}

impl Default for DocaConfig {
    fn default() -> Self {
        DocaConfig {
            mode: DocaMode::Switch,
            pipe_queues: 1,
            queue: 0,
            queue_depth: 0,
            nr_counters: 1 << 16,
            nr_meters: 0,
            nr_shared_meters: 0,
            entries_per_pipe: 8192,
            process_timeout_us: 10_000,
            aging_quota_us: 20_000,
            geneve_options: Vec::new(),
        }
    }
}

/// The id of an installed rule (also the entry's `usr_ctx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleHandle(pub u64);

/// Counter snapshot of an entry (`struct doca_flow_query`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// `total_pkts`.
    pub packets: u64,
    /// `total_bytes`.
    pub bytes: u64,
}

// ------------------------------------------------------------ completions

#[derive(Clone, Copy, Debug)]
struct Completion {
    id: u64,
    op: sys::doca_flow_entry_op,
}

/// Completions reported by `doca_flow_entries_process` /
/// `doca_flow_aging_handle`; DOCA Flow is process-wide, so is this.
static COMPLETIONS: Mutex<Vec<Completion>> = Mutex::new(Vec::new());

/// `doca_flow_entry_process_cb`: records the completion; never panics.
unsafe extern "C" fn on_entry_process(
    _entry: *mut sys::doca_flow_pipe_entry,
    _pipe_queue: u16,
    _status: sys::doca_flow_entry_status,
    op: sys::doca_flow_entry_op,
    user_ctx: *mut c_void,
) {
    // usr_ctx carries the rule number, not a pointer.
    let id = user_ctx as usize as u64;
    if let Ok(mut q) = COMPLETIONS.lock() {
        q.push(Completion { id, op });
    }
}

fn drain_completions() -> Vec<Completion> {
    match COMPLETIONS.lock() {
        Ok(mut q) => std::mem::take(&mut *q),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    }
}

// ------------------------------------------------------------ DocaFlow

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// `struct doca_flow_cfg`, destroyed on drop.
struct FlowCfg(NonNull<sys::doca_flow_cfg>);

impl FlowCfg {
    fn create() -> Result<Self> {
        let mut raw = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer for the duration of the call.
        check("doca_flow_cfg_create", unsafe {
            sys::doca_flow_cfg_create(&mut raw)
        })?;
        NonNull::new(raw)
            .map(FlowCfg)
            .ok_or(DocaBackendError::NullHandle("doca_flow_cfg_create"))
    }
}

impl Drop for FlowCfg {
    fn drop(&mut self) {
        // SAFETY: the cfg came from doca_flow_cfg_create and is destroyed
        // once; DOCA copied what it needs during doca_flow_init.
        let _ = unsafe { sys::doca_flow_cfg_destroy(self.0.as_ptr()) };
    }
}

/// DOCA Flow's global state (`doca_flow_init` / `doca_flow_destroy`).
/// One per process; owned by [`DocaBackend`].
#[derive(Debug)]
pub struct DocaFlow {
    mode: DocaMode,
}

impl DocaFlow {
    fn init(cfg: &DocaConfig) -> Result<Self> {
        if INITIALISED.swap(true, Ordering::SeqCst) {
            return Err(DocaBackendError::AlreadyInitialised);
        }
        match Self::init_inner(cfg) {
            Ok(flow) => Ok(flow),
            Err(e) => {
                INITIALISED.store(false, Ordering::SeqCst);
                Err(e)
            }
        }
    }

    fn init_inner(cfg: &DocaConfig) -> Result<Self> {
        let fc = FlowCfg::create()?;
        let c = fc.0.as_ptr();
        let mode_args = CString::new(cfg.mode.mode_args())
            .map_err(|_| DocaBackendError::InvalidConfig("mode_args contains NUL"))?;
        // SAFETY: `c` is the live cfg owned by `fc`; this setter and the
        // ones below ("as above") take plain values, a callback with the
        // declared signature, or `mode_args`, which outlives doca_flow_init.
        check("doca_flow_cfg_set_pipe_queues", unsafe {
            sys::doca_flow_cfg_set_pipe_queues(c, cfg.pipe_queues)
        })?;
        if cfg.queue_depth != 0 {
            // SAFETY: as above.
            check("doca_flow_cfg_set_queue_depth", unsafe {
                sys::doca_flow_cfg_set_queue_depth(c, cfg.queue_depth)
            })?;
        }
        // SAFETY: as above.
        check("doca_flow_cfg_set_nr_counters", unsafe {
            sys::doca_flow_cfg_set_nr_counters(c, cfg.nr_counters)
        })?;
        // SAFETY: as above.
        check("doca_flow_cfg_set_nr_meters", unsafe {
            sys::doca_flow_cfg_set_nr_meters(c, cfg.nr_meters)
        })?;
        if cfg.nr_shared_meters != 0 {
            // SAFETY: as above.
            check("doca_flow_cfg_set_nr_shared_resource", unsafe {
                sys::doca_flow_cfg_set_nr_shared_resource(
                    c,
                    cfg.nr_shared_meters,
                    sys::DOCA_FLOW_SHARED_RESOURCE_METER,
                )
            })?;
        }
        // SAFETY: as above.
        check("doca_flow_cfg_set_mode_args", unsafe {
            sys::doca_flow_cfg_set_mode_args(c, mode_args.as_ptr())
        })?;
        // SAFETY: as above; `on_entry_process` matches
        // doca_flow_entry_process_cb and lives for the whole program.
        check("doca_flow_cfg_set_cb_entry_process", unsafe {
            sys::doca_flow_cfg_set_cb_entry_process(c, Some(on_entry_process))
        })?;
        // SAFETY: `c` is a fully configured live cfg; INITIALISED guarantees
        // this is the only doca_flow_init of the process.
        check("doca_flow_init", unsafe { sys::doca_flow_init(c) })?;
        drop(mode_args);
        Ok(DocaFlow { mode: cfg.mode })
    }

    /// The mode DOCA runs in.
    pub fn mode(&self) -> DocaMode {
        self.mode
    }
}

impl Drop for DocaFlow {
    fn drop(&mut self) {
        // SAFETY: doca_flow_init succeeded; DocaBackend drops every entry,
        // pipe, parser and port before this value.
        unsafe { sys::doca_flow_destroy() };
        INITIALISED.store(false, Ordering::SeqCst);
    }
}

// ------------------------------------------------------------ ports

/// A DOCA port started on a DPDK port (representor, PF or uplink),
/// stopped on drop.
#[derive(Debug)]
pub struct DocaPort {
    raw: NonNull<sys::doca_flow_port>,
    dpdk_port_id: u16,
}

/// `struct doca_flow_port_cfg`, destroyed on drop.
struct PortCfg(NonNull<sys::doca_flow_port_cfg>);

impl Drop for PortCfg {
    fn drop(&mut self) {
        // SAFETY: created by doca_flow_port_cfg_create, destroyed once.
        let _ = unsafe { sys::doca_flow_port_cfg_destroy(self.0.as_ptr()) };
    }
}

impl DocaPort {
    /// # Safety
    ///
    /// `dev` is NULL or a valid `struct doca_dev *` for this port that
    /// outlives the port.
    unsafe fn start(dpdk_port_id: u16, dev: *mut c_void) -> Result<Self> {
        let mut raw_cfg = ptr::null_mut();
        // SAFETY: `raw_cfg` is a valid out-pointer.
        check("doca_flow_port_cfg_create", unsafe {
            sys::doca_flow_port_cfg_create(&mut raw_cfg)
        })?;
        let pc = NonNull::new(raw_cfg)
            .map(PortCfg)
            .ok_or(DocaBackendError::NullHandle("doca_flow_port_cfg_create"))?;
        // DOCA 2.7 selects the DPDK port by a devargs string: its id.
        let devargs = CString::new(dpdk_port_id.to_string())
            .map_err(|_| DocaBackendError::InvalidConfig("devargs contains NUL"))?;
        // SAFETY: `pc` is live; `devargs` outlives doca_flow_port_start.
        check("doca_flow_port_cfg_set_devargs", unsafe {
            sys::doca_flow_port_cfg_set_devargs(pc.0.as_ptr(), devargs.as_ptr())
        })?;
        if !dev.is_null() {
            // SAFETY: `pc` is live; the caller guarantees `dev`.
            check("doca_flow_port_cfg_set_dev", unsafe {
                sys::doca_flow_port_cfg_set_dev(pc.0.as_ptr(), dev)
            })?;
        }
        let mut raw = ptr::null_mut();
        // SAFETY: `pc` is a live, configured port cfg; `raw` is a valid
        // out-pointer; doca_flow_init succeeded (DocaBackend owns DocaFlow).
        check("doca_flow_port_start", unsafe {
            sys::doca_flow_port_start(pc.0.as_ptr(), &mut raw)
        })?;
        drop(devargs);
        let raw = NonNull::new(raw).ok_or(DocaBackendError::NullHandle("doca_flow_port_start"))?;
        Ok(DocaPort { raw, dpdk_port_id })
    }

    /// The DPDK port id.
    pub fn dpdk_port_id(&self) -> u16 {
        self.dpdk_port_id
    }
}

impl Drop for DocaPort {
    fn drop(&mut self) {
        // SAFETY: the port was started by doca_flow_port_start and is
        // stopped once, after its pipes and parser were destroyed.
        let _ = unsafe { sys::doca_flow_port_stop(self.raw.as_ptr()) };
    }
}

// ------------------------------------------------------------ GENEVE parser

/// A GENEVE option parser of one port, destroyed on drop.
struct GeneveParser {
    raw: NonNull<sys::doca_flow_parser>,
    options: Vec<GeneveParserSpec>,
}

impl GeneveParser {
    fn create(host: NonNull<sys::doca_flow_port>, options: Vec<GeneveParserSpec>) -> Result<Self> {
        let cfgs: Vec<sys::doca_flow_parser_geneve_opt_cfg> = options
            .iter()
            .map(|o| {
                let mut c = sys::doca_flow_parser_geneve_opt_cfg {
                    match_on_class_mode: sys::DOCA_FLOW_PARSER_GENEVE_OPT_MODE_FIXED,
                    option_class: be16(o.class),
                    option_type: o.option_type,
                    option_len: o.length,
                    ..Default::default()
                };
                for (d, m) in c.data_mask.iter_mut().zip(o.data_mask.iter()) {
                    *d = be32(*m);
                }
                c
            })
            .collect();
        let n = u8::try_from(cfgs.len()).map_err(|_| DocaBackendError::TooManyGeneveOptions)?;
        let mut raw = ptr::null_mut();
        // SAFETY: `host` is a started port; `cfgs` holds `n` initialised
        // elements and outlives the call; `raw` is a valid out-pointer.
        check("doca_flow_parser_geneve_opt_create", unsafe {
            sys::doca_flow_parser_geneve_opt_create(host.as_ptr(), cfgs.as_ptr(), n, &mut raw)
        })?;
        let raw = NonNull::new(raw).ok_or(DocaBackendError::NullHandle(
            "doca_flow_parser_geneve_opt_create",
        ))?;
        Ok(GeneveParser { raw, options })
    }
}

impl Drop for GeneveParser {
    fn drop(&mut self) {
        // SAFETY: created by doca_flow_parser_geneve_opt_create, destroyed
        // once, after the pipes that match options.
        let _ = unsafe { sys::doca_flow_parser_geneve_opt_destroy(self.raw.as_ptr()) };
    }
}

// ------------------------------------------------------------ pipes

/// `struct doca_flow_pipe_cfg`, destroyed on drop.
struct PipeCfg(NonNull<sys::doca_flow_pipe_cfg>);

impl PipeCfg {
    fn create(host: NonNull<sys::doca_flow_port>) -> Result<Self> {
        let mut raw = ptr::null_mut();
        // SAFETY: `host` is a started port; `raw` is a valid out-pointer.
        check("doca_flow_pipe_cfg_create", unsafe {
            sys::doca_flow_pipe_cfg_create(&mut raw, host.as_ptr())
        })?;
        NonNull::new(raw)
            .map(PipeCfg)
            .ok_or(DocaBackendError::NullHandle("doca_flow_pipe_cfg_create"))
    }

    /// Name, type BASIC, domain, root flag and capacity.
    fn basics(&self, name: &CStr, domain: DocaDomain, is_root: bool, entries: u32) -> Result<()> {
        let c = self.0.as_ptr();
        let domain = match domain {
            DocaDomain::Default => sys::DOCA_FLOW_PIPE_DOMAIN_DEFAULT,
            DocaDomain::Egress => sys::DOCA_FLOW_PIPE_DOMAIN_EGRESS,
        };
        // SAFETY: `c` is the live pipe cfg owned by `self`; `name` outlives
        // doca_flow_pipe_create (the caller keeps it in the DocaPipe); the
        // setters below ("as above") take plain values.
        check("doca_flow_pipe_cfg_set_name", unsafe {
            sys::doca_flow_pipe_cfg_set_name(c, name.as_ptr())
        })?;
        // SAFETY: as above.
        check("doca_flow_pipe_cfg_set_type", unsafe {
            sys::doca_flow_pipe_cfg_set_type(c, sys::DOCA_FLOW_PIPE_BASIC)
        })?;
        // SAFETY: as above.
        check("doca_flow_pipe_cfg_set_domain", unsafe {
            sys::doca_flow_pipe_cfg_set_domain(c, domain)
        })?;
        // SAFETY: as above.
        check("doca_flow_pipe_cfg_set_is_root", unsafe {
            sys::doca_flow_pipe_cfg_set_is_root(c, is_root)
        })?;
        // SAFETY: as above.
        check("doca_flow_pipe_cfg_set_nr_entries", unsafe {
            sys::doca_flow_pipe_cfg_set_nr_entries(c, entries)
        })
    }

    fn set_match(
        &self,
        value: &sys::doca_flow_match,
        mask: Option<&sys::doca_flow_match>,
    ) -> Result<()> {
        let mask = mask.map_or(ptr::null(), |m| m as *const _);
        // SAFETY: the cfg is live; `value` and `mask` (or NULL) point to
        // initialised structs that DOCA copies during the call.
        check("doca_flow_pipe_cfg_set_match", unsafe {
            sys::doca_flow_pipe_cfg_set_match(self.0.as_ptr(), value, mask)
        })
    }

    fn set_actions(
        &self,
        actions: &mut sys::doca_flow_actions,
        masks: &mut sys::doca_flow_actions,
        descs: Option<&mut sys::doca_flow_action_descs>,
    ) -> Result<()> {
        let a = [actions as *mut sys::doca_flow_actions];
        let m = [masks as *mut sys::doca_flow_actions];
        let d = descs.map(|d| [d as *mut sys::doca_flow_action_descs]);
        let d_ptr = d.as_ref().map_or(ptr::null(), |d| d.as_ptr());
        // SAFETY: the cfg is live; `a`, `m` and `d` are one-element arrays
        // of pointers to initialised structs (the descriptor array they
        // reference included) that outlive the call.
        check("doca_flow_pipe_cfg_set_actions", unsafe {
            sys::doca_flow_pipe_cfg_set_actions(self.0.as_ptr(), a.as_ptr(), m.as_ptr(), d_ptr, 1)
        })
    }

    fn set_monitor(&self, monitor: &sys::doca_flow_monitor) -> Result<()> {
        // SAFETY: the cfg is live; `monitor` is initialised and copied.
        check("doca_flow_pipe_cfg_set_monitor", unsafe {
            sys::doca_flow_pipe_cfg_set_monitor(self.0.as_ptr(), monitor)
        })
    }

    fn create_pipe(
        &self,
        fwd: &sys::doca_flow_fwd,
        fwd_miss: Option<&sys::doca_flow_fwd>,
    ) -> Result<NonNull<sys::doca_flow_pipe>> {
        let miss = fwd_miss.map_or(ptr::null(), |f| f as *const _);
        let mut raw = ptr::null_mut();
        // SAFETY: the cfg is live and configured; `fwd`/`miss` point to
        // initialised structs (or NULL) whose RSS queue arrays, if any,
        // outlive the call; `raw` is a valid out-pointer.
        check("doca_flow_pipe_create", unsafe {
            sys::doca_flow_pipe_create(self.0.as_ptr(), fwd, miss, &mut raw)
        })?;
        NonNull::new(raw).ok_or(DocaBackendError::NullHandle("doca_flow_pipe_create"))
    }
}

impl Drop for PipeCfg {
    fn drop(&mut self) {
        // SAFETY: created by doca_flow_pipe_cfg_create, destroyed once.
        let _ = unsafe { sys::doca_flow_pipe_cfg_destroy(self.0.as_ptr()) };
    }
}

/// A DOCA pipe, destroyed (with its entries) on drop.
#[derive(Debug)]
pub struct DocaPipe {
    raw: NonNull<sys::doca_flow_pipe>,
    host: NonNull<sys::doca_flow_port>,
    name: CString,
    group: u32,
    priority: u32,
}

impl DocaPipe {
    /// The pipe's name.
    pub fn name(&self) -> &CStr {
        &self.name
    }

    /// The rte_flow group it belongs to.
    pub fn group(&self) -> u32 {
        self.group
    }

    /// The rte_flow priority of its rules.
    pub fn priority(&self) -> u32 {
        self.priority
    }

    /// A rule pipe from a pipe template ([`PipeKey::template`]); misses go
    /// to `miss` (or DOCA's default when `None`).
    fn create(
        host: NonNull<sys::doca_flow_port>,
        t: &DocaPlan,
        name: CString,
        entries: u32,
        miss: Option<NonNull<sys::doca_flow_pipe>>,
    ) -> Result<Self> {
        let cfg = PipeCfg::create(host)?;
        cfg.basics(&name, t.domain, false, entries)?;
        let mut m = sys::doca_flow_match::default();
        let mut mm = sys::doca_flow_match::default();
        fill_match(&t.matcher, &mut m, &mut mm);
        cfg.set_match(&m, Some(&mm))?;
        if !t.actions.is_empty() {
            let mut a = sys::doca_flow_actions::default();
            let mut am = sys::doca_flow_actions::default();
            let mut desc = sys::doca_flow_action_desc::default();
            let has_desc = fill_actions(&t.actions, &mut a, &mut am, &mut desc);
            let mut descs = sys::doca_flow_action_descs {
                nb_action_desc: 1,
                desc_array: &mut desc,
            };
            cfg.set_actions(&mut a, &mut am, has_desc.then_some(&mut descs))?;
        }
        if !t.monitor.is_empty() {
            cfg.set_monitor(&fill_monitor(&t.monitor))?;
        }
        let mut queues = Vec::new();
        let fwd = fill_fwd(&t.fwd, None, &mut queues, true)?;
        let miss_fwd = miss.map(pipe_fwd);
        let raw = cfg.create_pipe(&fwd, miss_fwd.as_ref())?;
        drop(queues);
        Ok(DocaPipe {
            raw,
            host,
            name,
            group: t.group,
            priority: t.priority,
        })
    }

    /// The empty anchor pipe of a group: no entries, so every packet takes
    /// its miss path, which leads to the group's first rule pipe.
    fn anchor(
        host: NonNull<sys::doca_flow_port>,
        domain: DocaDomain,
        group: u32,
        name: CString,
    ) -> Result<Self> {
        let cfg = PipeCfg::create(host)?;
        cfg.basics(&name, domain, group == 0, 1)?;
        cfg.set_match(&sys::doca_flow_match::default(), None)?;
        let fwd = sys::doca_flow_fwd {
            type_: sys::DOCA_FLOW_FWD_DROP,
            ..Default::default()
        };
        let raw = cfg.create_pipe(&fwd, None)?;
        Ok(DocaPipe {
            raw,
            host,
            name,
            group,
            priority: 0,
        })
    }

    /// Points the pipe's miss path at `next` (`None`: DOCA's default).
    fn set_miss(&self, next: Option<NonNull<sys::doca_flow_pipe>>) -> Result<()> {
        let fwd = next.map_or(
            sys::doca_flow_fwd {
                type_: sys::DOCA_FLOW_FWD_NONE,
                ..Default::default()
            },
            pipe_fwd,
        );
        // SAFETY: `self.raw` is a live pipe; `fwd` is initialised and, for
        // a PIPE forward, names a live pipe of the same port.
        check("doca_flow_pipe_update_miss", unsafe {
            sys::doca_flow_pipe_update_miss(self.raw.as_ptr(), &fwd)
        })
    }
}

impl Drop for DocaPipe {
    fn drop(&mut self) {
        // SAFETY: created by doca_flow_pipe_create, destroyed once, before
        // its port is stopped; entry handles of this pipe are forgotten.
        unsafe { sys::doca_flow_pipe_destroy(self.raw.as_ptr()) };
    }
}

fn pipe_fwd(next: NonNull<sys::doca_flow_pipe>) -> sys::doca_flow_fwd {
    let mut f = sys::doca_flow_fwd {
        type_: sys::DOCA_FLOW_FWD_PIPE,
        ..Default::default()
    };
    f.__bindgen_anon_1.__bindgen_anon_3.next_pipe = next.as_ptr();
    f
}

// ------------------------------------------------------------ entries

/// One installed entry. It has no `Drop`: it is removed by
/// [`DocaBackend::remove_rule`] or together with its pipe.
#[derive(Debug)]
pub struct DocaEntry {
    raw: NonNull<sys::doca_flow_pipe_entry>,
    host: NonNull<sys::doca_flow_port>,
    counter: bool,
}

impl DocaEntry {
    fn add(
        queue: u16,
        pipe: &DocaPipe,
        plan: &DocaPlan,
        next_pipe: Option<NonNull<sys::doca_flow_pipe>>,
        flags: EntryFlags,
        id: u64,
    ) -> Result<Self> {
        let mut m = sys::doca_flow_match::default();
        let mut mm = sys::doca_flow_match::default();
        fill_match(&plan.matcher, &mut m, &mut mm);
        let mut a = sys::doca_flow_actions::default();
        let mut am = sys::doca_flow_actions::default();
        let mut desc = sys::doca_flow_action_desc::default();
        fill_actions(&plan.actions, &mut a, &mut am, &mut desc);
        a.action_idx = 0;
        let actions: *const sys::doca_flow_actions = if plan.actions.is_empty() {
            ptr::null()
        } else {
            &a
        };
        let mon = fill_monitor(&plan.monitor);
        let monitor: *const sys::doca_flow_monitor = if plan.monitor.is_empty() {
            ptr::null()
        } else {
            &mon
        };
        let mut queues = Vec::new();
        let fwd = fill_fwd(&plan.fwd, next_pipe, &mut queues, false)?;
        // The pipe fixes DROP/NONE/RSS forwards; entries give PORT and PIPE.
        let fwd_ptr: *const sys::doca_flow_fwd = match plan.fwd {
            FwdPlan::Port { .. } | FwdPlan::Pipe { .. } => &fwd,
            FwdPlan::None | FwdPlan::Drop | FwdPlan::Rss(_) => ptr::null(),
        };
        let mut raw = ptr::null_mut();
        // usr_ctx carries the rule number; the callback never dereferences it.
        let usr_ctx = id as usize as *mut c_void;
        // SAFETY: `pipe.raw` is a live pipe; `m`, `actions`, `monitor` and
        // `fwd_ptr` point to initialised locals (or are NULL) that outlive
        // the call, as does the RSS queue array in `queues`; `raw` is a
        // valid out-pointer; `queue` is below the configured pipe queues.
        check("doca_flow_pipe_add_entry", unsafe {
            sys::doca_flow_pipe_add_entry(
                queue,
                pipe.raw.as_ptr(),
                &m,
                actions,
                monitor,
                fwd_ptr,
                flags.bits(),
                usr_ctx,
                &mut raw,
            )
        })?;
        drop(queues);
        let raw =
            NonNull::new(raw).ok_or(DocaBackendError::NullHandle("doca_flow_pipe_add_entry"))?;
        Ok(DocaEntry {
            raw,
            host: pipe.host,
            counter: plan.monitor.counter,
        })
    }

    fn status(&self) -> sys::doca_flow_entry_status {
        // SAFETY: the entry is live (its pipe is owned by the backend).
        unsafe { sys::doca_flow_pipe_entry_get_status(self.raw.as_ptr()) }
    }

    fn remove(self, queue: u16, flags: EntryFlags) -> Result<()> {
        // SAFETY: the entry is live and removed once (it is consumed).
        check("doca_flow_pipe_rm_entry", unsafe {
            sys::doca_flow_pipe_rm_entry(queue, flags.bits(), self.raw.as_ptr())
        })
    }
}

// ------------------------------------------------------------ struct filling

fn be16(v: Be16) -> u16 {
    // doca_be16_t holds the wire bytes in memory.
    u16::from_ne_bytes(v.0)
}

fn be32(v: Be32) -> u32 {
    u32::from_ne_bytes(v.0)
}

fn ip6(v: Ip6Words) -> [u32; 4] {
    v.map(be32)
}

const VLAN_0: u16 = sys::DOCA_FLOW_L2_VALID_HEADER_VLAN_0 as u16;

fn l3_type(t: L3Type) -> sys::doca_flow_l3_type {
    match t {
        L3Type::Ip4 => sys::DOCA_FLOW_L3_TYPE_IP4,
        L3Type::Ip6 => sys::DOCA_FLOW_L3_TYPE_IP6,
    }
}

fn l3_meta(t: L3Type) -> sys::doca_flow_l3_meta {
    match t {
        L3Type::Ip4 => sys::DOCA_FLOW_L3_META_IPV4,
        L3Type::Ip6 => sys::DOCA_FLOW_L3_META_IPV6,
    }
}

fn l4_type_ext(t: L4TypeExt) -> sys::doca_flow_l4_type_ext {
    match t {
        L4TypeExt::Tcp => sys::DOCA_FLOW_L4_TYPE_EXT_TCP,
        L4TypeExt::Udp => sys::DOCA_FLOW_L4_TYPE_EXT_UDP,
        L4TypeExt::Icmp => sys::DOCA_FLOW_L4_TYPE_EXT_ICMP,
        L4TypeExt::Icmp6 => sys::DOCA_FLOW_L4_TYPE_EXT_ICMP6,
    }
}

fn l4_meta(t: L4Meta) -> sys::doca_flow_l4_meta {
    match t {
        L4Meta::Tcp => sys::DOCA_FLOW_L4_META_TCP,
        L4Meta::Udp => sys::DOCA_FLOW_L4_META_UDP,
        L4Meta::Icmp => sys::DOCA_FLOW_L4_META_ICMP,
    }
}

fn rss_bits(f: RssFlags) -> u32 {
    let mut bits = 0;
    for (flag, doca) in [
        (RssFlags::IPV4, sys::DOCA_FLOW_RSS_IPV4),
        (RssFlags::IPV6, sys::DOCA_FLOW_RSS_IPV6),
        (RssFlags::UDP, sys::DOCA_FLOW_RSS_UDP),
        (RssFlags::TCP, sys::DOCA_FLOW_RSS_TCP),
    ] {
        if f.contains(flag) {
            bits |= doca;
        }
    }
    bits
}

/// Copies `f` (if any) into `value`/`mask` through `conv`.
fn put<T: Copy, U>(
    value: &mut U,
    mask: &mut U,
    f: Option<dpuflow_flow::doca::plan::Field<T>>,
    conv: fn(T) -> U,
) {
    if let Some(f) = f {
        *value = conv(f.value);
        *mask = conv(f.mask);
    }
}

fn id<T>(v: T) -> T {
    v
}

fn fill_header(
    h: &HeaderMatch,
    v: &mut sys::doca_flow_header_format,
    k: &mut sys::doca_flow_header_format,
) {
    put(&mut v.eth.dst_mac, &mut k.eth.dst_mac, h.eth_dst, id);
    put(&mut v.eth.src_mac, &mut k.eth.src_mac, h.eth_src, id);
    put(&mut v.eth.type_, &mut k.eth.type_, h.eth_type, be16);
    if h.vlan {
        v.l2_valid_headers |= VLAN_0;
        k.l2_valid_headers |= VLAN_0;
    }
    put(
        &mut v.eth_vlan[0].tci,
        &mut k.eth_vlan[0].tci,
        h.vlan_tci,
        be16,
    );
    if let Some(l3) = &h.l3 {
        v.l3_type = l3_type(l3.l3_type());
        k.l3_type = l3_type(l3.l3_type());
    }
    match h.l3 {
        Some(L3Match::Ip4 {
            src,
            dst,
            next_proto,
            ttl,
            dscp_ecn,
        }) => {
            let mut iv = sys::doca_flow_header_ip4::default();
            let mut ik = sys::doca_flow_header_ip4::default();
            put(&mut iv.src_ip, &mut ik.src_ip, src, be32);
            put(&mut iv.dst_ip, &mut ik.dst_ip, dst, be32);
            put(&mut iv.next_proto, &mut ik.next_proto, next_proto, id);
            put(&mut iv.ttl, &mut ik.ttl, ttl, id);
            put(&mut iv.dscp_ecn, &mut ik.dscp_ecn, dscp_ecn, id);
            v.__bindgen_anon_1.ip4 = iv;
            k.__bindgen_anon_1.ip4 = ik;
        }
        Some(L3Match::Ip6 {
            src,
            dst,
            next_proto,
            hop_limit,
            traffic_class,
        }) => {
            let mut iv = sys::doca_flow_header_ip6::default();
            let mut ik = sys::doca_flow_header_ip6::default();
            put(&mut iv.src_ip, &mut ik.src_ip, src, ip6);
            put(&mut iv.dst_ip, &mut ik.dst_ip, dst, ip6);
            put(&mut iv.next_proto, &mut ik.next_proto, next_proto, id);
            put(&mut iv.hop_limit, &mut ik.hop_limit, hop_limit, id);
            put(
                &mut iv.traffic_class,
                &mut ik.traffic_class,
                traffic_class,
                id,
            );
            v.__bindgen_anon_1.ip6 = iv;
            k.__bindgen_anon_1.ip6 = ik;
        }
        None => {}
    }
    if let Some(l4) = h.l4 {
        v.l4_type_ext = l4_type_ext(l4.l4_type_ext());
        k.l4_type_ext = l4_type_ext(l4.l4_type_ext());
        match l4 {
            L4Match::Tcp {
                src_port,
                dst_port,
                flags,
            } => {
                let mut tv = sys::doca_flow_header_tcp::default();
                let mut tk = sys::doca_flow_header_tcp::default();
                put(
                    &mut tv.l4_port.src_port,
                    &mut tk.l4_port.src_port,
                    src_port,
                    be16,
                );
                put(
                    &mut tv.l4_port.dst_port,
                    &mut tk.l4_port.dst_port,
                    dst_port,
                    be16,
                );
                put(&mut tv.flags, &mut tk.flags, flags, id);
                v.__bindgen_anon_2.tcp = tv;
                k.__bindgen_anon_2.tcp = tk;
            }
            L4Match::Udp { src_port, dst_port } => {
                let mut uv = sys::doca_flow_header_udp::default();
                let mut uk = sys::doca_flow_header_udp::default();
                put(
                    &mut uv.l4_port.src_port,
                    &mut uk.l4_port.src_port,
                    src_port,
                    be16,
                );
                put(
                    &mut uv.l4_port.dst_port,
                    &mut uk.l4_port.dst_port,
                    dst_port,
                    be16,
                );
                v.__bindgen_anon_2.udp = uv;
                k.__bindgen_anon_2.udp = uk;
            }
            L4Match::Icmp {
                icmp_type,
                code,
                ident,
            } => {
                let mut iv = sys::doca_flow_header_icmp::default();
                let mut ik = sys::doca_flow_header_icmp::default();
                put(&mut iv.type_, &mut ik.type_, icmp_type, id);
                put(&mut iv.code, &mut ik.code, code, id);
                put(&mut iv.ident, &mut ik.ident, ident, be16);
                v.__bindgen_anon_2.icmp = iv;
                k.__bindgen_anon_2.icmp = ik;
            }
            L4Match::Icmp6 { icmp_type, code } => {
                let mut iv = sys::doca_flow_header_icmp::default();
                let mut ik = sys::doca_flow_header_icmp::default();
                put(&mut iv.type_, &mut ik.type_, icmp_type, id);
                put(&mut iv.code, &mut ik.code, code, id);
                v.__bindgen_anon_2.icmp = iv;
                k.__bindgen_anon_2.icmp = ik;
            }
        }
    }
}

fn geneve_opt_header(class: Be16, option_type: u8, length: u8) -> sys::doca_flow_geneve_option {
    sys::doca_flow_geneve_option {
        __bindgen_anon_1: sys::doca_flow_geneve_option__bindgen_ty_1 {
            class_id: be16(class),
            type_: option_type,
            length,
        },
    }
}

fn fill_tun_match(t: &TunnelMatch, v: &mut sys::doca_flow_tun, k: &mut sys::doca_flow_tun) {
    match t {
        TunnelMatch::Geneve {
            vni,
            next_proto,
            option,
        } => {
            v.type_ = sys::DOCA_FLOW_TUN_GENEVE;
            k.type_ = sys::DOCA_FLOW_TUN_GENEVE;
            let mut gv = sys::doca_flow_tun__bindgen_ty_1__bindgen_ty_6::default();
            let mut gk = sys::doca_flow_tun__bindgen_ty_1__bindgen_ty_6::default();
            put(&mut gv.geneve.vni, &mut gk.geneve.vni, *vni, be32);
            put(
                &mut gv.geneve.next_proto,
                &mut gk.geneve.next_proto,
                *next_proto,
                be16,
            );
            if let Some(o) = option {
                // Word 0: the option header, class and type matched exactly.
                let header = (
                    geneve_opt_header(o.class, o.option_type, o.length),
                    geneve_opt_header(Be16::ALL_ONES, u8::MAX, 0),
                );
                let data = o.data.iter().map(|w| {
                    (
                        sys::doca_flow_geneve_option {
                            data: be32(w.value),
                        },
                        sys::doca_flow_geneve_option { data: be32(w.mask) },
                    )
                });
                for ((dv, dk), (wv, wk)) in gv
                    .geneve_options
                    .iter_mut()
                    .zip(gk.geneve_options.iter_mut())
                    .zip(std::iter::once(header).chain(data))
                {
                    *dv = wv;
                    *dk = wk;
                }
            }
            v.__bindgen_anon_1.__bindgen_anon_6 = gv;
            k.__bindgen_anon_1.__bindgen_anon_6 = gk;
        }
        TunnelMatch::Vxlan { vni } => {
            v.type_ = sys::DOCA_FLOW_TUN_VXLAN;
            k.type_ = sys::DOCA_FLOW_TUN_VXLAN;
            let mut xv = sys::doca_flow_tun__bindgen_ty_1__bindgen_ty_1::default();
            let mut xk = sys::doca_flow_tun__bindgen_ty_1__bindgen_ty_1::default();
            put(&mut xv.vxlan_tun_id, &mut xk.vxlan_tun_id, *vni, be32);
            v.__bindgen_anon_1.__bindgen_anon_1 = xv;
            k.__bindgen_anon_1.__bindgen_anon_1 = xk;
        }
    }
}

/// Fills a match (`v`) and its mask (`k`) from a plan or pipe template.
fn fill_match(p: &MatchPlan, v: &mut sys::doca_flow_match, k: &mut sys::doca_flow_match) {
    if let Some(port) = p.port_meta {
        v.parser_meta.port_meta = port;
        k.parser_meta.port_meta = u32::MAX;
    }
    put(&mut v.meta.pkt_meta, &mut k.meta.pkt_meta, p.pkt_meta, id);
    for ((wv, wk), f) in v
        .meta
        .u32_
        .iter_mut()
        .zip(k.meta.u32_.iter_mut())
        .zip(p.scratch.iter())
    {
        put(wv, wk, *f, id);
    }
    fill_header(&p.outer, &mut v.outer, &mut k.outer);
    fill_header(&p.inner, &mut v.inner, &mut k.inner);
    if let Some(l3) = &p.outer.l3 {
        v.parser_meta.outer_l3_type = l3_meta(l3.l3_type());
        k.parser_meta.outer_l3_type = u32::MAX;
    }
    if let Some(l4) = &p.outer.l4 {
        v.parser_meta.outer_l4_type = l4_meta(l4.l4_meta());
        k.parser_meta.outer_l4_type = u32::MAX;
    }
    if let Some(l3) = &p.inner.l3 {
        v.parser_meta.inner_l3_type = l3_meta(l3.l3_type());
        k.parser_meta.inner_l3_type = u32::MAX;
    }
    if let Some(l4) = &p.inner.l4 {
        v.parser_meta.inner_l4_type = l4_meta(l4.l4_meta());
        k.parser_meta.inner_l4_type = u32::MAX;
    }
    if let Some(t) = &p.tun {
        fill_tun_match(t, &mut v.tun, &mut k.tun);
    }
}

fn fill_rewrite(
    r: &HeaderRewrite,
    a: &mut sys::doca_flow_header_format,
    k: &mut sys::doca_flow_header_format,
) {
    if let Some(mac) = r.eth_src {
        a.eth.src_mac = mac;
        k.eth.src_mac = [0xff; 6];
    }
    if let Some(mac) = r.eth_dst {
        a.eth.dst_mac = mac;
        k.eth.dst_mac = [0xff; 6];
    }
    if let Some(f) = r.vlan_tci {
        a.l2_valid_headers |= VLAN_0;
        k.l2_valid_headers |= VLAN_0;
        put(
            &mut a.eth_vlan[0].tci,
            &mut k.eth_vlan[0].tci,
            Some(f),
            be16,
        );
    }
    match r.l3 {
        Some(L3Rewrite::Ip4 { src, dst }) => {
            a.l3_type = sys::DOCA_FLOW_L3_TYPE_IP4;
            if let Some(s) = src {
                a.__bindgen_anon_1.ip4.src_ip = be32(s);
                k.__bindgen_anon_1.ip4.src_ip = u32::MAX;
            }
            if let Some(d) = dst {
                a.__bindgen_anon_1.ip4.dst_ip = be32(d);
                k.__bindgen_anon_1.ip4.dst_ip = u32::MAX;
            }
        }
        Some(L3Rewrite::Ip6 { src, dst }) => {
            a.l3_type = sys::DOCA_FLOW_L3_TYPE_IP6;
            if let Some(s) = src {
                a.__bindgen_anon_1.ip6.src_ip = ip6(s);
                k.__bindgen_anon_1.ip6.src_ip = [u32::MAX; 4];
            }
            if let Some(d) = dst {
                a.__bindgen_anon_1.ip6.dst_ip = ip6(d);
                k.__bindgen_anon_1.ip6.dst_ip = [u32::MAX; 4];
            }
        }
        None => {}
    }
    if let Some(l4) = r.l4 {
        let mut pv = sys::doca_flow_header_l4_port::default();
        let mut pk = sys::doca_flow_header_l4_port::default();
        if let Some(s) = l4.src_port {
            pv.src_port = be16(s);
            pk.src_port = u16::MAX;
        }
        if let Some(d) = l4.dst_port {
            pv.dst_port = be16(d);
            pk.dst_port = u16::MAX;
        }
        match l4.proto {
            L4Proto::Tcp => {
                a.l4_type_ext = sys::DOCA_FLOW_L4_TYPE_EXT_TCP;
                a.__bindgen_anon_2.tcp.l4_port = pv;
                k.__bindgen_anon_2.tcp.l4_port = pk;
            }
            L4Proto::Udp => {
                a.l4_type_ext = sys::DOCA_FLOW_L4_TYPE_EXT_UDP;
                a.__bindgen_anon_2.udp.l4_port = pv;
                k.__bindgen_anon_2.udp.l4_port = pk;
            }
        }
    }
}

fn encap_tun(t: &EncapTun) -> sys::doca_flow_tun {
    let mut tun = sys::doca_flow_tun::default();
    match t {
        EncapTun::Geneve {
            vni,
            next_proto,
            ver_opt_len,
            o_c,
            options,
        } => {
            tun.type_ = sys::DOCA_FLOW_TUN_GENEVE;
            let mut g = sys::doca_flow_tun__bindgen_ty_1__bindgen_ty_6::default();
            g.geneve.ver_opt_len = *ver_opt_len;
            g.geneve.o_c = *o_c;
            g.geneve.next_proto = be16(*next_proto);
            g.geneve.vni = be32(*vni);
            for (dst, w) in g.geneve_options.iter_mut().zip(options.iter()) {
                *dst = match *w {
                    GeneveOptionWord::Header {
                        class,
                        option_type,
                        length,
                    } => geneve_opt_header(class, option_type, length),
                    GeneveOptionWord::Data(d) => sys::doca_flow_geneve_option { data: be32(d) },
                };
            }
            tun.__bindgen_anon_1.__bindgen_anon_6 = g;
        }
        EncapTun::Vxlan { vni } => {
            tun.type_ = sys::DOCA_FLOW_TUN_VXLAN;
            tun.__bindgen_anon_1.__bindgen_anon_1 =
                sys::doca_flow_tun__bindgen_ty_1__bindgen_ty_1 {
                    vxlan_tun_id: be32(*vni),
                    ..Default::default()
                };
        }
    }
    tun
}

fn encap_cfg(e: &EncapPlan) -> sys::doca_flow_resource_encap_cfg {
    let mut outer = sys::doca_flow_header_format::default();
    outer.eth.src_mac = e.eth_src;
    outer.eth.dst_mac = e.eth_dst;
    outer.eth.type_ = be16(e.eth_type);
    if let Some(tci) = e.vlan_tci {
        outer.l2_valid_headers |= VLAN_0;
        outer.eth_vlan[0].tci = be16(tci);
    }
    match e.ip {
        EncapIp::V4 {
            src,
            dst,
            ttl,
            dscp_ecn,
            flags_fragment_offset,
        } => {
            outer.l3_type = sys::DOCA_FLOW_L3_TYPE_IP4;
            outer.__bindgen_anon_1.ip4 = sys::doca_flow_header_ip4 {
                src_ip: be32(src),
                dst_ip: be32(dst),
                ttl,
                dscp_ecn,
                flags_fragment_offset: be16(flags_fragment_offset),
                next_proto: sys::DOCA_FLOW_PROTO_UDP as u8,
                ..Default::default()
            };
        }
        EncapIp::V6 {
            src,
            dst,
            hop_limit,
            traffic_class,
        } => {
            outer.l3_type = sys::DOCA_FLOW_L3_TYPE_IP6;
            outer.__bindgen_anon_1.ip6 = sys::doca_flow_header_ip6 {
                src_ip: ip6(src),
                dst_ip: ip6(dst),
                hop_limit,
                traffic_class,
                next_proto: sys::DOCA_FLOW_PROTO_UDP as u8,
                ..Default::default()
            };
        }
    }
    outer.l4_type_ext = sys::DOCA_FLOW_L4_TYPE_EXT_UDP;
    outer.__bindgen_anon_2.udp.l4_port = sys::doca_flow_header_l4_port {
        src_port: be16(e.udp_src),
        dst_port: be16(e.udp_dst),
    };
    sys::doca_flow_resource_encap_cfg {
        is_l2: true,
        encap: sys::doca_flow_encap_action {
            outer,
            tun: encap_tun(&e.tun),
        },
    }
}

fn dec_ttl_field(d: DecTtl) -> &'static CStr {
    match d {
        DecTtl::Ipv4 => c"outer.ipv4.ttl",
        DecTtl::Ipv6 => c"outer.ipv6.hop_limit",
    }
}

/// Fills actions (`a`), their mask (`k`) and the dec-TTL descriptor;
/// returns whether the descriptor is used.
fn fill_actions(
    p: &ActionsPlan,
    a: &mut sys::doca_flow_actions,
    k: &mut sys::doca_flow_actions,
    desc: &mut sys::doca_flow_action_desc,
) -> bool {
    if let Some(d) = p.decap {
        a.decap_type = sys::DOCA_FLOW_RESOURCE_TYPE_NON_SHARED;
        a.__bindgen_anon_1.decap_cfg = sys::doca_flow_resource_decap_cfg {
            is_l2: d.is_l2,
            ..Default::default()
        };
    }
    if p.pop_vlan {
        a.pop = true;
        k.pop = true;
    }
    put(&mut a.meta.pkt_meta, &mut k.meta.pkt_meta, p.pkt_meta, id);
    for ((wv, wk), f) in a
        .meta
        .u32_
        .iter_mut()
        .zip(k.meta.u32_.iter_mut())
        .zip(p.scratch.iter())
    {
        put(wv, wk, *f, id);
    }
    if let Some(mark) = p.mark {
        a.meta.mark = mark;
        k.meta.mark = u32::MAX;
    }
    fill_rewrite(&p.rewrite, &mut a.outer, &mut k.outer);
    let has_desc = match p.dec_ttl {
        Some(d) => {
            // Add 0xff to the 8-bit field: TTL - 1 modulo 256.
            match d {
                DecTtl::Ipv4 => {
                    a.outer.l3_type = sys::DOCA_FLOW_L3_TYPE_IP4;
                    a.outer.__bindgen_anon_1.ip4.ttl = u8::MAX;
                }
                DecTtl::Ipv6 => {
                    a.outer.l3_type = sys::DOCA_FLOW_L3_TYPE_IP6;
                    a.outer.__bindgen_anon_1.ip6.hop_limit = u8::MAX;
                }
            }
            let mut op = sys::doca_flow_action_desc__bindgen_ty_1__bindgen_ty_1::default();
            op.dst.field_string = dec_ttl_field(d).as_ptr();
            op.dst.bit_offset = 0;
            op.width = 8;
            desc.type_ = sys::DOCA_FLOW_ACTION_ADD;
            desc.__bindgen_anon_1.field_op = op;
            true
        }
        None => false,
    };
    if let Some(tci) = p.push_vlan_tci {
        a.has_push = true;
        a.push.type_ = sys::DOCA_FLOW_PUSH_ACTION_VLAN;
        a.push.__bindgen_anon_1.vlan.tci = be16(tci);
    }
    if let Some(e) = &p.encap {
        a.encap_type = sys::DOCA_FLOW_RESOURCE_TYPE_NON_SHARED;
        a.__bindgen_anon_2.encap_cfg = encap_cfg(e);
    }
    has_desc
}

fn fill_monitor(p: &MonitorPlan) -> sys::doca_flow_monitor {
    let mut m = sys::doca_flow_monitor::default();
    if p.counter {
        m.counter_type = sys::DOCA_FLOW_RESOURCE_TYPE_NON_SHARED;
    }
    if let Some(sec) = p.aging_sec {
        m.aging_sec = sec;
    }
    if let Some(meter) = p.shared_meter_id {
        m.meter_type = sys::DOCA_FLOW_RESOURCE_TYPE_SHARED;
        m.__bindgen_anon_1.shared_meter.shared_meter_id = meter;
        m.__bindgen_anon_1.shared_meter.meter_init_color = sys::DOCA_FLOW_METER_COLOR_GREEN;
    }
    m
}

/// Fills a forward. `template`: a pipe's forward (PIPE becomes
/// `FWD_CHANGEABLE`); otherwise an entry's (PIPE needs `next_pipe`).
/// `queues` receives the RSS queue array the result points to.
fn fill_fwd(
    p: &FwdPlan,
    next_pipe: Option<NonNull<sys::doca_flow_pipe>>,
    queues: &mut Vec<u16>,
    template: bool,
) -> Result<sys::doca_flow_fwd> {
    let mut f = sys::doca_flow_fwd::default();
    match p {
        FwdPlan::None => f.type_ = sys::DOCA_FLOW_FWD_NONE,
        FwdPlan::Drop => f.type_ = sys::DOCA_FLOW_FWD_DROP,
        FwdPlan::Port { port_id } => {
            f.type_ = sys::DOCA_FLOW_FWD_PORT;
            f.__bindgen_anon_1.__bindgen_anon_2.port_id = *port_id;
        }
        FwdPlan::Pipe { .. } if template => f.type_ = sys::DOCA_FLOW_FWD_CHANGEABLE,
        FwdPlan::Pipe { .. } => {
            let next = next_pipe.ok_or(DocaBackendError::NullHandle("jump target pipe"))?;
            f = pipe_fwd(next);
        }
        FwdPlan::Rss(r) => {
            queues.clone_from(&r.queues);
            let n = c_int::try_from(queues.len())
                .map_err(|_| DocaBackendError::InvalidConfig("too many RSS queues"))?;
            f.type_ = sys::DOCA_FLOW_FWD_RSS;
            f.__bindgen_anon_1.__bindgen_anon_1.rss_outer_flags = rss_bits(r.outer_flags);
            f.__bindgen_anon_1.__bindgen_anon_1.rss_inner_flags = rss_bits(r.inner_flags);
            f.__bindgen_anon_1.__bindgen_anon_1.rss_queues = queues.as_mut_ptr();
            f.__bindgen_anon_1.__bindgen_anon_1.num_of_queues = n;
        }
    }
    Ok(f)
}

// ------------------------------------------------------------ backend

/// Pipes are scoped by the port hosting them and the domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Scope {
    host: usize,
    domain: DocaDomain,
}

/// The pipes of one group: the anchor and the rule pipes by priority.
struct GroupChain {
    anchor: DocaPipe,
    /// Rule pipe ids, sorted by priority (creation order among equals).
    chain: Vec<usize>,
}

/// Installs rules as DOCA Flow pipes and entries. One per process (DOCA
/// Flow is process-global); not `Send`: drive it from one thread, which
/// also owns its pipe queue.
pub struct DocaBackend {
    cfg: DocaConfig,
    entries: HashMap<RuleHandle, DocaEntry>,
    pipes: Vec<Option<DocaPipe>>,
    pipe_index: HashMap<(Scope, PipeKey), usize>,
    groups: HashMap<(Scope, u32), GroupChain>,
    parsers: HashMap<usize, GeneveParser>,
    ports: Vec<DocaPort>,
    next_id: u64,
    flow: DocaFlow,
}

impl DocaBackend {
    /// `doca_flow_init` with `cfg` (after `rte_eal_init`, before any port).
    pub fn new(cfg: DocaConfig) -> Result<Self> {
        if cfg.pipe_queues == 0 || cfg.queue >= cfg.pipe_queues {
            return Err(DocaBackendError::InvalidConfig(
                "queue must be below pipe_queues (at least 1)",
            ));
        }
        if cfg.geneve_options.len() > PARSER_GENEVE_OPTIONS_MAX {
            return Err(DocaBackendError::TooManyGeneveOptions);
        }
        let flow = DocaFlow::init(&cfg)?;
        Ok(DocaBackend {
            cfg,
            entries: HashMap::new(),
            pipes: Vec::new(),
            pipe_index: HashMap::new(),
            groups: HashMap::new(),
            parsers: HashMap::new(),
            ports: Vec::new(),
            next_id: 1,
            flow,
        })
    }

    /// The DOCA mode.
    pub fn mode(&self) -> DocaMode {
        self.flow.mode()
    }

    /// Starts a DOCA port on DPDK port `dpdk_port_id` (devargs = its id).
    /// In switch mode the switch manager port needs
    /// [`DocaBackend::start_port_with_dev`].
    pub fn start_port(&mut self, dpdk_port_id: u16) -> Result<&DocaPort> {
        // SAFETY: a NULL device is always acceptable.
        unsafe { self.start_port_with_dev(dpdk_port_id, ptr::null_mut()) }
    }

    /// Starts a DOCA port with its `struct doca_dev` (required for the
    /// switch manager in switch mode).
    ///
    /// # Safety
    ///
    /// `dev` is NULL or a valid `struct doca_dev *` of this port that stays
    /// open until the backend is dropped.
    pub unsafe fn start_port_with_dev(
        &mut self,
        dpdk_port_id: u16,
        dev: *mut c_void,
    ) -> Result<&DocaPort> {
        if self.ports.iter().any(|p| p.dpdk_port_id == dpdk_port_id) {
            return Err(DocaBackendError::PortAlreadyStarted(dpdk_port_id));
        }
        // SAFETY: forwarded from this function's contract.
        let port = unsafe { DocaPort::start(dpdk_port_id, dev) }?;
        self.ports.push(port);
        self.ports
            .last()
            .ok_or(DocaBackendError::PortNotStarted(dpdk_port_id))
    }

    /// Started ports.
    pub fn ports(&self) -> &[DocaPort] {
        &self.ports
    }

    /// Number of rule pipes (anchors excluded).
    pub fn pipe_count(&self) -> usize {
        self.pipes.iter().flatten().count()
    }

    /// Number of installed rules.
    pub fn rule_count(&self) -> usize {
        self.entries.len()
    }

    /// The DOCA port hosting the pipes of rules given on `port_id`: the port
    /// itself (vnf) or its switch manager (switch).
    fn host(&self, port_id: u16) -> Result<NonNull<sys::doca_flow_port>> {
        let port = self
            .ports
            .iter()
            .find(|p| p.dpdk_port_id == port_id)
            .ok_or(DocaBackendError::PortNotStarted(port_id))?;
        match self.flow.mode() {
            DocaMode::Vnf => Ok(port.raw),
            DocaMode::Switch => {
                // SAFETY: `port.raw` is a started port.
                let sw = unsafe { sys::doca_flow_port_switch_get(port.raw.as_ptr()) };
                NonNull::new(sw).ok_or(DocaBackendError::NoSwitchPort(port_id))
            }
        }
    }

    /// Installs `rule` given on DPDK port `port_id` (in switch mode any
    /// started port of the switch), pushes it and checks its status.
    pub fn add_rule(&mut self, port_id: u16, rule: &Rule) -> Result<RuleHandle> {
        let handle = self.add_rule_with(port_id, rule, EntryFlags::NoWait)?;
        self.process(port_id)?;
        self.check_entry(handle)
    }

    /// Adds the entry of `rule` with `flags` without processing the queue;
    /// call [`DocaBackend::process`] (and [`DocaBackend::check_entry`]).
    pub fn add_rule_with(
        &mut self,
        port_id: u16,
        rule: &Rule,
        flags: EntryFlags,
    ) -> Result<RuleHandle> {
        let plan = DocaPlan::from_rule(rule)?;
        if plan.mode != self.flow.mode() {
            return Err(DocaBackendError::ModeMismatch {
                needed: plan.mode,
                running: self.flow.mode(),
            });
        }
        let host = self.host(port_id)?;
        let scope = Scope {
            host: host.as_ptr() as usize,
            domain: plan.domain,
        };
        if let Some(spec) = &plan.geneve_parser {
            self.ensure_parser(host, spec)?;
        }
        let key = plan.pipe_key();
        let pipe_id = match self.pipe_index.get(&(scope, key.clone())) {
            Some(&id) => id,
            None => self.create_pipe(scope, host, key)?,
        };
        let next_pipe = match plan.fwd {
            FwdPlan::Pipe { group } => Some(self.group(scope, host, group)?.anchor.raw),
            _ => None,
        };
        let pipe = self
            .pipes
            .get(pipe_id)
            .and_then(Option::as_ref)
            .ok_or(DocaBackendError::NullHandle("pipe"))?;
        let id = self.next_id;
        let entry = DocaEntry::add(self.cfg.queue, pipe, &plan, next_pipe, flags, id)?;
        self.next_id += 1;
        self.entries.insert(RuleHandle(id), entry);
        Ok(RuleHandle(id))
    }

    /// `doca_flow_entries_process` on the port hosting `port_id`'s pipes.
    pub fn process(&mut self, port_id: u16) -> Result<()> {
        let host = self.host(port_id)?;
        self.process_host(host)
    }

    fn process_host(&self, host: NonNull<sys::doca_flow_port>) -> Result<()> {
        // SAFETY: `host` is a started port; the queue is this backend's.
        check("doca_flow_entries_process", unsafe {
            sys::doca_flow_entries_process(
                host.as_ptr(),
                self.cfg.queue,
                self.cfg.process_timeout_us,
                0,
            )
        })
    }

    /// The entry's status after processing: `Ok` when in hardware;
    /// a failed entry is forgotten.
    pub fn check_entry(&mut self, handle: RuleHandle) -> Result<RuleHandle> {
        let status = self
            .entries
            .get(&handle)
            .ok_or(DocaBackendError::UnknownRule(handle))?
            .status();
        if status == sys::DOCA_FLOW_ENTRY_STATUS_SUCCESS {
            Ok(handle)
        } else if status == sys::DOCA_FLOW_ENTRY_STATUS_ERROR {
            self.entries.remove(&handle);
            Err(DocaBackendError::EntryFailed(handle))
        } else {
            Err(DocaBackendError::EntryPending(handle))
        }
    }

    /// Removes a rule's entry (`doca_flow_pipe_rm_entry`, no wait) and
    /// processes the queue. Its pipe stays (empty pipes keep their place in
    /// the group chain).
    pub fn remove_rule(&mut self, handle: RuleHandle) -> Result<()> {
        let entry = self
            .entries
            .remove(&handle)
            .ok_or(DocaBackendError::UnknownRule(handle))?;
        let host = entry.host;
        entry.remove(self.cfg.queue, EntryFlags::NoWait)?;
        self.process_host(host)
    }

    /// Packet and byte counters of a rule with a `count` action
    /// (`doca_flow_query_entry`).
    pub fn query(&self, handle: RuleHandle) -> Result<Counters> {
        let entry = self
            .entries
            .get(&handle)
            .ok_or(DocaBackendError::UnknownRule(handle))?;
        if !entry.counter {
            return Err(DocaBackendError::NoCounter(handle));
        }
        let mut q = sys::doca_flow_query::default();
        // SAFETY: the entry is live and has a counter; `q` is a valid
        // out-struct.
        check("doca_flow_query_entry", unsafe {
            sys::doca_flow_query_entry(entry.raw.as_ptr(), &mut q)
        })?;
        Ok(Counters {
            packets: q.total_pkts,
            bytes: q.total_bytes,
        })
    }

    /// Runs `doca_flow_aging_handle` over every port hosting entries until
    /// a full pass is done and returns the rules that aged out. Their
    /// entries stay until [`DocaBackend::remove_rule`] (as aged rte_flow
    /// rules stay until destroyed). Other completions reported meanwhile
    /// are discarded.
    pub fn handle_aging(&mut self) -> Result<Vec<RuleHandle>> {
        let mut hosts: Vec<NonNull<sys::doca_flow_port>> = Vec::new();
        for e in self.entries.values() {
            if !hosts.contains(&e.host) {
                hosts.push(e.host);
            }
        }
        for host in &hosts {
            for _ in 0..AGING_MAX_CALLS {
                // SAFETY: `host` is a started port; the queue is ours.
                let n = unsafe {
                    sys::doca_flow_aging_handle(
                        host.as_ptr(),
                        self.cfg.queue,
                        self.cfg.aging_quota_us,
                        0,
                    )
                };
                if n < 0 {
                    break;
                }
            }
        }
        Ok(drain_completions()
            .into_iter()
            .filter(|c| c.op == sys::DOCA_FLOW_ENTRY_OP_AGED)
            .map(|c| RuleHandle(c.id))
            .filter(|h| self.entries.contains_key(h))
            .collect())
    }

    fn ensure_parser(
        &mut self,
        host: NonNull<sys::doca_flow_port>,
        spec: &GeneveParserSpec,
    ) -> Result<()> {
        let key = host.as_ptr() as usize;
        if let Some(p) = self.parsers.get(&key) {
            return if p.options.iter().any(|o| o.covers(spec)) {
                Ok(())
            } else {
                Err(DocaBackendError::GeneveOptionNotInParser {
                    class: spec.class.get(),
                    option_type: spec.option_type,
                })
            };
        }
        let mut options = self.cfg.geneve_options.clone();
        if !options.iter().any(|o| o.covers(spec)) {
            options.push(spec.clone());
        }
        if options.len() > PARSER_GENEVE_OPTIONS_MAX {
            return Err(DocaBackendError::TooManyGeneveOptions);
        }
        let parser = GeneveParser::create(host, options)?;
        self.parsers.insert(key, parser);
        Ok(())
    }

    /// The group's chain, creating its anchor pipe on first use.
    fn group(
        &mut self,
        scope: Scope,
        host: NonNull<sys::doca_flow_port>,
        group: u32,
    ) -> Result<&mut GroupChain> {
        use std::collections::hash_map::Entry;
        match self.groups.entry((scope, group)) {
            Entry::Occupied(o) => Ok(o.into_mut()),
            Entry::Vacant(v) => {
                let name = CString::new(format!("dpuflow.{:?}.g{group}", scope.domain))
                    .map_err(|_| DocaBackendError::InvalidConfig("pipe name"))?;
                let anchor = DocaPipe::anchor(host, scope.domain, group, name)?;
                Ok(v.insert(GroupChain {
                    anchor,
                    chain: Vec::new(),
                }))
            }
        }
    }

    fn pipe_raw(&self, id: usize) -> Option<NonNull<sys::doca_flow_pipe>> {
        self.pipes.get(id).and_then(Option::as_ref).map(|p| p.raw)
    }

    /// Creates the pipe of `key` and links it into its group's chain by
    /// priority.
    fn create_pipe(
        &mut self,
        scope: Scope,
        host: NonNull<sys::doca_flow_port>,
        key: PipeKey,
    ) -> Result<usize> {
        let t = key.template();
        let chain = self.group(scope, host, t.group)?.chain.clone();
        let pos = chain
            .iter()
            .position(|&id| {
                self.pipes
                    .get(id)
                    .and_then(Option::as_ref)
                    .is_some_and(|p| p.priority > t.priority)
            })
            .unwrap_or(chain.len());
        let next = chain.get(pos).and_then(|&id| self.pipe_raw(id));
        let pipe_id = self.pipes.len();
        let name = CString::new(format!(
            "dpuflow.{:?}.g{}.p{}.{}",
            t.domain, t.group, t.priority, pipe_id
        ))
        .map_err(|_| DocaBackendError::InvalidConfig("pipe name"))?;
        let pipe = DocaPipe::create(host, t, name, self.cfg.entries_per_pipe, next)?;
        let raw = pipe.raw;
        // Link the predecessor (the anchor or the previous pipe) to it.
        let linked = match pos.checked_sub(1).and_then(|i| chain.get(i)) {
            Some(&prev) => match self.pipes.get(prev).and_then(Option::as_ref) {
                Some(p) => p.set_miss(Some(raw)),
                None => Err(DocaBackendError::NullHandle("previous pipe")),
            },
            None => self.group(scope, host, t.group)?.anchor.set_miss(Some(raw)),
        };
        linked?;
        self.pipes.push(Some(pipe));
        self.group(scope, host, t.group)?.chain.insert(pos, pipe_id);
        self.pipe_index.insert((scope, key), pipe_id);
        Ok(pipe_id)
    }
}

impl Drop for DocaBackend {
    fn drop(&mut self) {
        // Entries go with their pipes; forget the handles first.
        self.entries.clear();
        self.pipe_index.clear();
        // Referrers before referents: each anchor, then its chain in order.
        for (_, group) in self.groups.drain() {
            let GroupChain { anchor, chain } = group;
            drop(anchor);
            for id in chain {
                if let Some(slot) = self.pipes.get_mut(id) {
                    drop(slot.take());
                }
            }
        }
        self.pipes.clear();
        self.parsers.clear();
        self.ports.clear();
        // `self.flow` is dropped last: doca_flow_destroy.
    }
}

impl std::fmt::Debug for DocaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocaBackend")
            .field("mode", &self.flow.mode())
            .field("ports", &self.ports.len())
            .field("pipes", &self.pipe_count())
            .field("rules", &self.entries.len())
            .finish()
    }
}

mod offload;
