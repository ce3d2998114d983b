#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The queue at depth (SPEC §12): the daemon binary, as users run it, with 0, 10, 1,000
//! and 10,000 tasks already waiting in `queued/` for another daemon's drive (listed in
//! `tasks.json`, as a webapp shared by several daemons leaves them).
//! `cargo bench -p amphigory --bench queue_depth` prints, per depth:
//! - pickup p50/p99: a scan for our drive written the way the webapp writes one (temp
//!   file, rename into `queued/`, `tasks.json` rewritten in place with it appended), from
//!   the rename to the daemon's `status: started` on its WebSocket; the disc was scanned
//!   at start-up, so the task is answered at once and the daemon is idle again;
//! - idle CPU (share of one core, from `/proc/<pid>/stat`) over a quiet spell after
//!   start-up, nobody connected, and RSS at its end;
//! - how long `amphigory queue --json` and `amphigory status --json` take, as a user
//!   would run them (`status` is answered by the engine, after it reads the pause
//!   marker and the queue depth again).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it is a short smoke run;
//! `-- --depth N` measures one depth only, `-- --idle SECS` idles that long (30 s).

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_tungstenite::tungstenite::{self, Message};

const BIN: &str = env!("CARGO_BIN_EXE_amphigory");
/// Longest any one wait may take before the run is declared broken.
const TIMEOUT: Duration = Duration::from_secs(60);

struct Plan {
    depths: Vec<usize>,
    pickups: usize,
    idle: Duration,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    // `-- --depth N` measures one depth only (e.g. to profile it).
    let only = args
        .iter()
        .position(|a| a == "--depth")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse::<usize>().expect("--depth N: a number of tasks"));
    let mut plan = if full {
        Plan {
            depths: vec![0, 10, 1_000, 10_000],
            pickups: 200,
            idle: Duration::from_secs(30),
        }
    } else {
        Plan {
            depths: vec![10],
            pickups: 3,
            idle: Duration::from_millis(200),
        }
    };
    if let Some(depth) = only {
        plan.depths = vec![depth];
    }
    // `-- --idle SECS`: the quiet spell the idle cost is measured over.
    if let Some(secs) = args
        .iter()
        .position(|a| a == "--idle")
        .and_then(|i| args.get(i + 1))
    {
        plan.idle = Duration::from_secs(secs.parse().expect("--idle SECS: a number"));
    }
    for depth in &plan.depths {
        run_depth(*depth, &plan);
    }
}

fn run_depth(depth: usize, plan: &Plan) {
    let root = tempfile::tempdir().unwrap();
    let tasks = root.path().join("tasks");
    let mut listed = plant_foreign_tasks(&tasks, depth);
    let daemon = Daemon::start(root.path());
    // Quiet first, with nobody connected: the daemon as it waits for a disc.
    let (cpu, rss) = daemon.idle_cost(plan.idle);
    let mut ws = daemon.websocket();
    let mut latencies = Vec::with_capacity(plan.pickups);
    for n in 0..plan.pickups {
        let id = format!("20991231T235959.{n:06}-scan");
        listed.push(id.clone());
        latencies.push(pick_up(&tasks, &listed, &mut ws));
    }
    let listing = daemon.time_cli(&["queue", "--json"]);
    let status = daemon.time_cli(&["status", "--json"]);
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "depth {depth:>6}: pickup p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; idle {:.3} % of a core, \
         RSS {:.1} MB; `amphigory queue` {:.1} ms, `amphigory status` {:.1} ms",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0)),
        cpu * 100.0,
        rss as f64 / 1e6,
        ms(listing),
        ms(status)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `depth` scans for another daemon's drive, queued and listed; returns the listed ids.
fn plant_foreign_tasks(tasks: &Path, depth: usize) -> Vec<String> {
    let queued = tasks.join("queued");
    fs::create_dir_all(&queued).unwrap();
    let ids: Vec<String> = (0..depth)
        .map(|n| format!("20251227T143052.{n:06}-scan"))
        .collect();
    for id in &ids {
        let task = serde_json::json!({"id": id, "type": "scan",
            "created_at": "2025-12-27T14:30:52", "drive": "someone@elsewhere:sr0"});
        fs::write(queued.join(format!("{id}.json")), task.to_string()).unwrap();
    }
    fs::write(tasks.join("tasks.json"), serde_json::to_vec(&ids).unwrap()).unwrap();
    ids
}

/// Writes the last of `listed` as the webapp does; returns rename → `status: started`.
fn pick_up(tasks: &Path, listed: &[String], ws: &mut WsClient) -> Duration {
    let id = listed.last().unwrap();
    let body = format!(r#"{{"id":"{id}","type":"scan","created_at":"2025-12-27T14:30:52"}}"#);
    let temp = tasks.join(format!(".incoming-{id}.json"));
    fs::write(&temp, body).unwrap();
    let began = Instant::now();
    fs::rename(&temp, tasks.join("queued").join(format!("{id}.json"))).unwrap();
    fs::write(
        tasks.join("tasks.json"),
        serde_json::to_vec(listed).unwrap(),
    )
    .unwrap();
    ws.wait_status(id, "started");
    let latency = began.elapsed();
    ws.wait_status(id, "completed");
    latency
}

type WsClient = tungstenite::WebSocket<TcpStream>;

trait StatusWait {
    fn wait_status(&mut self, id: &str, status: &str);
}

impl StatusWait for WsClient {
    fn wait_status(&mut self, id: &str, status: &str) {
        loop {
            let Message::Text(text) = self.read().unwrap() else {
                continue;
            };
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["type"] == "status" && v["task_id"] == id && v["status"] == status {
                return;
            }
            assert!(
                !(v["type"] == "status" && v["task_id"] == id && v["status"] == "failed"),
                "{id} failed"
            );
        }
    }
}

/// The daemon binary on one simulated drive, with its log read on a thread.
struct Daemon {
    child: Child,
    socket: PathBuf,
    ws: SocketAddr,
}

impl Daemon {
    fn start(root: &Path) -> Self {
        for dir in ["home", "tmp", "run"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        let socket = root.join("run/daemon.sock");
        let mut child = Command::new(BIN)
            .arg("--socket")
            .arg(&socket)
            .arg("daemon")
            .arg("--tasks-dir")
            .arg(root.join("tasks"))
            .arg("--state-dir")
            .arg(root.join("state"))
            .args(["--simulate", "demo-bluray", "--sim-rate", "20000"])
            .args(["--ws-port", "0", "--no-webapp", "--headless"])
            .args(["--log-level", "info"])
            .env("HOME", root.join("home"))
            .env("TMPDIR", root.join("tmp"))
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = log_lines(child.stderr.take().unwrap());
        let mut ws = None;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the daemon did not get ready");
            if let Some(addr) = line.split("websocket listening on ").nth(1) {
                ws.get_or_insert(addr.trim().parse::<SocketAddr>().unwrap());
            }
            if line.contains("disc in /dev/sim0 scanned") {
                break;
            }
        }
        // Keep draining the log so the daemon never blocks on a full pipe.
        std::thread::spawn(move || while lines.recv().is_ok() {});
        Self {
            child,
            socket,
            ws: ws.unwrap(),
        }
    }

    fn websocket(&self) -> WsClient {
        let stream = TcpStream::connect_timeout(&self.ws, TIMEOUT).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let (ws, _) = tungstenite::client(format!("ws://{}/", self.ws), stream).unwrap();
        ws
    }

    /// Share of one core used over `spell` of doing nothing, and RSS after it.
    fn idle_cost(&self, spell: Duration) -> (f64, u64) {
        let before = cpu_time(self.child.id());
        let began = Instant::now();
        std::thread::sleep(spell);
        let used = cpu_time(self.child.id()) - before;
        (
            used / began.elapsed().as_secs_f64(),
            rss_bytes(self.child.id()),
        )
    }

    /// How long `amphigory ARGS` takes against this daemon, as a user would run it.
    fn time_cli(&self, args: &[&str]) -> Duration {
        let began = Instant::now();
        let out = Command::new(BIN)
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        let took = began.elapsed();
        assert!(out.status.success(), "{out:?}");
        took
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_lines(stderr: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// User + system CPU seconds of `pid`.
fn cpu_time(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // `/proc` counts in USER_HZ, which Linux fixes at 100 for user space.
    ticks / 100.0
}

fn rss_bytes(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}
