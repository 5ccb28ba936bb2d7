//! Runs DPDK's `dpdk-testpmd` with the rte_flow recorder preloaded and
//! returns the rules its `flow ...` commands handed to rte_flow.
//!
//! testpmd's flow command parser is DPDK's reference for how a rule is laid
//! out in `rte_flow_attr` / `rte_flow_item[]` / `rte_flow_action[]`. With
//! [`crate::RECORDER_PRELOAD_SO`] in `LD_PRELOAD`, every
//! `rte_flow_validate`, `rte_flow_create`, template create, table create,
//! `rte_flow_configure` and `rte_flow_async_create` is dumped (see
//! ffi-headers/testing/README.md) and answered with success, so no NIC is
//! needed. Compare a [`Record::dump`](crate::testpmd::Record::dump) with [`crate::recorder`]'s dump of the
//! rule dpuflow builds.
//!
//! Plain std code: usable from any crate's tests with
//! `dpuflow-flow-testkit = { workspace = true, features = ["recorder"] }` (a dev-dependency).
//!
//! ```no_run
//! use dpuflow_flow_testkit::testpmd::Testpmd;
//! let Some(testpmd) = Testpmd::find() else { return };
//! let run = testpmd
//!     .run(&["flow create 0 ingress pattern eth / end actions drop / end"])
//!     .expect("testpmd");
//! assert_eq!(run.records[0].kind(), "create");
//! ```

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// testpmd's command line editor drops characters past its 512-byte buffer
/// (DPDK 22.11 `RDLINE_BUF_SIZE`), so longer commands are refused up front.
pub const MAX_COMMAND_LEN: usize = 510;

/// Environment variable naming the testpmd binary to use.
pub const TESTPMD_ENV: &str = "DPUFLOW_TESTPMD";

/// Output lines by which testpmd's command line or flow code refuses a
/// command. The first three come right after the command's echo.
const REJECT_MARKERS: &[&str] = &[
    "Bad arguments",
    "Command not found",
    "Ambiguous command",
    " is invalid",
    "Invalid port",
    "Caught PMD error",
    "Caught error",
];

/// One recorded rte_flow call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The call, e.g. `create port=0 handle=1`, `validate port=0`,
    /// `async_create port=0 queue=0 postpone=0 table=1 ...`.
    pub op: String,
    /// The dump, one line per element, each ending in `\n`: exactly what
    /// `dpuflow_recorder_dump*` returns for the same objects.
    pub dump: String,
}

impl Record {
    /// The first word of [`Record::op`]: `validate`, `create`, `configure`,
    /// `pattern_template_create`, `actions_template_create`,
    /// `template_table_create` or `async_create`.
    pub fn kind(&self) -> &str {
        self.op.split_whitespace().next().unwrap_or("")
    }

    /// The value of `key=` in [`Record::op`], e.g. `record.op_field("port")`.
    pub fn op_field(&self, key: &str) -> Option<&str> {
        self.op
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

/// The outcome of one testpmd run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Recorded calls, in call order.
    pub records: Vec<Record>,
    /// testpmd's stdout (with the echo of every command).
    pub stdout: String,
    /// testpmd's and the EAL's stderr.
    pub stderr: String,
}

/// Why a run failed.
#[derive(Debug)]
pub enum Error {
    /// Spawning testpmd or handling its files failed.
    Io(io::Error),
    /// A command is longer than [`MAX_COMMAND_LEN`] or holds a newline.
    BadCommand(String),
    /// testpmd printed a refusal (see the message) for `command`, or for a
    /// command it could not be matched to (`command` is then empty).
    Rejected {
        /// The refused command, when known.
        command: String,
        /// The line testpmd printed.
        message: String,
        /// The whole run, for diagnosis.
        run: Box<Run>,
    },
    /// testpmd did not exit in time and was killed.
    Timeout(Box<Run>),
    /// testpmd exited with a failure status.
    Exit(ExitStatus, Box<Run>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "running testpmd: {e}"),
            Error::BadCommand(c) => write!(
                f,
                "testpmd command longer than {MAX_COMMAND_LEN} bytes or multi-line: {c}"
            ),
            Error::Rejected {
                command,
                message,
                run,
            } => write!(
                f,
                "testpmd refused {command:?}: {message}\n--- stdout\n{}\n--- stderr\n{}",
                run.stdout, run.stderr
            ),
            Error::Timeout(run) => write!(
                f,
                "testpmd timed out\n--- stdout\n{}\n--- stderr\n{}",
                run.stdout, run.stderr
            ),
            Error::Exit(status, run) => write!(
                f,
                "testpmd failed ({status})\n--- stdout\n{}\n--- stderr\n{}",
                run.stdout, run.stderr
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// `$DPUFLOW_TESTPMD`, else `dpdk-testpmd` from `PATH`, else
/// `/usr/bin/dpdk-testpmd`; `None` when none of them is a file.
pub fn find_testpmd() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(TESTPMD_ENV) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("dpdk-testpmd"))
            .find(|p| p.is_file())
    });
    from_path.or_else(|| {
        let p = PathBuf::from("/usr/bin/dpdk-testpmd");
        p.is_file().then_some(p)
    })
}

/// A testpmd invocation: two `net_null` ports (0 and 1) with 4 Rx/Tx queues,
/// no PCI, no hugepages, interactive mode fed from a file.
#[derive(Debug, Clone)]
pub struct Testpmd {
    program: PathBuf,
    preload: PathBuf,
    eal_args: Vec<String>,
    app_args: Vec<String>,
    timeout: Duration,
}

impl Testpmd {
    /// Rx (and Tx) queues per port (`--rxq`/`--txq`): an `rss` action
    /// without `queues` spreads over `0..RX_QUEUES`.
    pub const RX_QUEUES: u16 = 4;

    /// testpmd found by [`find_testpmd`] with [`crate::RECORDER_PRELOAD_SO`].
    pub fn find() -> Option<Self> {
        find_testpmd().map(|p| Self::new(p, crate::RECORDER_PRELOAD_SO))
    }

    /// A given testpmd binary and recorder shared object, default arguments.
    pub fn new(program: impl Into<PathBuf>, preload: impl Into<PathBuf>) -> Self {
        let strings = |a: &[&str]| a.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        Testpmd {
            program: program.into(),
            preload: preload.into(),
            eal_args: strings(&[
                "--no-pci",
                "--no-huge",
                "--no-shconf",
                "-m",
                "512",
                "--vdev",
                "net_null0",
                "--vdev",
                "net_null1",
            ]),
            app_args: [
                strings(&["-i", "--total-num-mbufs", "8192", "--disable-link-check"]),
                vec![
                    format!("--rxq={}", Self::RX_QUEUES),
                    format!("--txq={}", Self::RX_QUEUES),
                ],
            ]
            .concat(),
            timeout: Duration::from_secs(120),
        }
    }

    /// Appends an EAL argument (before `--`).
    pub fn eal_arg(mut self, arg: impl Into<String>) -> Self {
        self.eal_args.push(arg.into());
        self
    }

    /// Appends a testpmd argument (after `--`).
    pub fn app_arg(mut self, arg: impl Into<String>) -> Self {
        self.app_args.push(arg.into());
        self
    }

    /// Kills testpmd after this long (default 120 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The testpmd binary.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Runs testpmd once with these commands (then `quit`) and returns the
    /// recorded calls. Fails if testpmd refuses any command: a rule that
    /// never reached rte_flow would otherwise just be missing.
    pub fn run<S: AsRef<str>>(&self, commands: &[S]) -> Result<Run, Error> {
        for c in commands {
            let c = c.as_ref();
            if c.len() > MAX_COMMAND_LEN || c.contains('\n') {
                return Err(Error::BadCommand(c.to_string()));
            }
        }
        let dir = TempDir::new()?;
        let run = self.run_in(&dir.0, commands);
        drop(dir);
        let run = run?;
        check_refusals(commands, run)
    }

    fn run_in<S: AsRef<str>>(&self, dir: &Path, commands: &[S]) -> Result<Run, Error> {
        let input = dir.join("commands.txt");
        let out_path = dir.join("stdout.txt");
        let err_path = dir.join("stderr.txt");
        let rec_path = dir.join("records.txt");
        {
            let mut f = File::create(&input)?;
            for c in commands {
                writeln!(f, "{}", c.as_ref())?;
            }
            writeln!(f, "quit")?;
        }
        let prefix = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dpuflow-testpmd".into());
        let mut child = Command::new(&self.program)
            .args(&self.eal_args)
            .arg(format!("--file-prefix={prefix}"))
            .arg("--")
            .args(&self.app_args)
            .env("LD_PRELOAD", &self.preload)
            .env("DPUFLOW_RECORDER_OUT", &rec_path)
            .stdin(File::open(&input)?)
            .stdout(File::create(&out_path)?)
            .stderr(File::create(&err_path)?)
            .spawn()?;
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                // Only our own child; ignore "already exited".
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let read = |p: &Path| -> io::Result<String> {
            match fs::read(p) {
                Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
                Err(e) => Err(e),
            }
        };
        let run = Run {
            records: parse_records(&read(&rec_path)?),
            stdout: read(&out_path)?,
            stderr: read(&err_path)?,
        };
        match status {
            None => Err(Error::Timeout(Box::new(run))),
            Some(s) if !s.success() => Err(Error::Exit(s, Box::new(run))),
            Some(_) => Ok(run),
        }
    }
}

/// Splits the recorder's output file into records (blocks ended by `---`).
pub fn parse_records(text: &str) -> Vec<Record> {
    let mut records = Vec::new();
    let mut op: Option<&str> = None;
    let mut dump = String::new();
    for line in text.lines() {
        if line == "---" {
            if let Some(op) = op.take() {
                records.push(Record {
                    op: op.to_string(),
                    dump: std::mem::take(&mut dump),
                });
            }
        } else if op.is_none() {
            op = Some(line);
        } else {
            dump.push_str(line);
            dump.push('\n');
        }
    }
    records
}

/// Finds testpmd's refusals. The command line echoes each command after the
/// `testpmd> ` prompt and writes its own errors unbuffered, so those map to
/// a command; testpmd's printf output is block-buffered into the file and
/// cannot be matched to a command.
fn check_refusals<S: AsRef<str>>(commands: &[S], run: Run) -> Result<Run, Error> {
    let mut refusal: Option<(String, String)> = None;
    for (i, segment) in run.stdout.split("testpmd> ").skip(1).enumerate() {
        if let Some(line) = segment
            .lines()
            .find(|l| REJECT_MARKERS[..3].iter().any(|m| l.contains(m)))
        {
            let command = commands
                .get(i)
                .map(|c| c.as_ref().to_string())
                .unwrap_or_default();
            refusal = Some((command, line.trim().to_string()));
            break;
        }
    }
    if refusal.is_none() {
        refusal = run
            .stdout
            .lines()
            .chain(run.stderr.lines())
            .find(|l| REJECT_MARKERS.iter().any(|m| l.contains(m)))
            .map(|l| (String::new(), l.trim().to_string()));
    }
    match refusal {
        Some((command, message)) => Err(Error::Rejected {
            command,
            message,
            run: Box::new(run),
        }),
        None => Ok(run),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> io::Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "dpuflow-testpmd-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover directory in /tmp is harmless.
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks() {
        let text = "create port=0 handle=1\nattr group=0\nitem end\n---\nvalidate port=1\n---\n";
        let records = parse_records(text);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].kind(), "create");
        assert_eq!(records[0].op_field("handle"), Some("1"));
        assert_eq!(records[0].dump, "attr group=0\nitem end\n");
        assert_eq!(records[1].op_field("port"), Some("1"));
        assert_eq!(records[1].dump, "");
    }

    #[test]
    fn finds_refused_command() {
        let run = Run {
            records: Vec::new(),
            stdout: "testpmd> flow a\ntestpmd> flow b\nBad arguments\ntestpmd> quit\n".into(),
            stderr: String::new(),
        };
        match check_refusals(&["flow a", "flow b"], run) {
            Err(Error::Rejected { command, .. }) => assert_eq!(command, "flow b"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
