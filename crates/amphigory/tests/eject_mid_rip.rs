#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `eject` during a rip: the rip fails with `DISC_EJECTED` and the drive stays `empty`
//! once the task has stopped (the engine must not mark it `disc_inserted` again). And a
//! disc that cannot be read mid-rip (MSG 2003 with a medium error) fails the rip with
//! `DISC_UNREADABLE` (issue 12, case 8b).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use amphigory::core::DaemonEvent;
use amphigory::daemon::{self, DaemonOptions, SimOptions};
use amphigory::queue::{NewTask, RipSpec};
use amphigory_wire::ErrorCode;
use amphigory_wire::drive::DriveState;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ejecting_mid_rip_fails_the_rip_and_leaves_the_drive_empty() {
    let root = tempfile::tempdir().unwrap();
    let socket = root.path().join("d.sock");
    let mut options = DaemonOptions::new(root.path().join("tasks"), root.path().join("state"));
    options.simulate = Some(SimOptions {
        discs: vec!["demo-bluray".into()],
        rate_mbps: 500.0, // the 26 GB main feature takes about a minute: plenty of time
        fault: None,
    });
    options.sim_executable = Some(PathBuf::from(env!("CARGO_BIN_EXE_amphigory")));
    options.socket = Some(socket.clone());
    let stop = CancellationToken::new();
    let handle = daemon::start(options, stop.clone()).await.unwrap();
    let mut events = handle.bus.subscribe();
    std::fs::create_dir_all(root.path().join("out")).unwrap();
    let id = handle
        .queue
        .enqueue(&NewTask::rip(RipSpec {
            track: 0,
            expected_size_bytes: None,
            expected_duration: None,
            directory: root.path().join("out"),
            filename: "Movie.mkv".into(),
        }))
        .unwrap();
    wait_for(&mut events, |e| {
        matches!(e, DaemonEvent::TaskProgress { task_id, percent, .. } if *task_id == id && *percent > 0)
    })
    .await;

    let stream = UnixStream::connect(&socket).await.unwrap();
    let (read, mut write) = stream.into_split();
    write
        .write_all(b"{\"action\":\"eject\",\"args\":{}}\n")
        .await
        .unwrap();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await.unwrap();
    assert!(line.contains("\"ok\":true"), "{line}");

    let finished = wait_for(
        &mut events,
        |e| matches!(e, DaemonEvent::TaskFinished { task_id, .. } if *task_id == id),
    )
    .await;
    let DaemonEvent::TaskFinished { error, .. } = finished else {
        unreachable!()
    };
    assert_eq!(error.unwrap().code, ErrorCode::DiscEjected);
    let drive = handle.status.get().drives.into_iter().next().unwrap();
    assert_eq!(drive.state, DriveState::Empty, "{drive:?}");
    assert_eq!(drive.waiting_since, None);
    assert!(!root.path().join("out/Movie.mkv").exists());
    stop.cancel();
    handle.wait().await;
}

/// The first event matching `want`, within [`WAIT`].
async fn wait_for(
    events: &mut tokio::sync::broadcast::Receiver<DaemonEvent>,
    want: impl Fn(&DaemonEvent) -> bool,
) -> DaemonEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.unwrap();
            if want(&event) {
                return event;
            }
        }
    })
    .await
    .expect("the event in time")
}

/// Issue 12, case 8b, through the daemon binary: the simulated drive reports unrecoverable
/// read errors (sense key MEDIUM ERROR) half-way and would then report the title saved;
/// the result is `DISC_UNREADABLE`, no file is placed, and the rip ran once.
#[test]
fn case8b_a_medium_error_mid_rip_fails_it_as_disc_unreadable() {
    use support::daemon::{DaemonSpec, Rig, WAIT as LONG};
    let rig = Rig::new();
    let mut daemon = rig.start_with(&DaemonSpec {
        args: vec!["--sim-fault".into(), "badsector@50".into()],
        ..DaemonSpec::new("a")
    });
    let (id, file) = rig.enqueue_rip(7, "Scratched");
    let result = rig.wait_result(&id, LONG);
    assert_eq!(result["status"], "failed", "{result:#}");
    assert_eq!(result["error"]["code"], "DISC_UNREADABLE", "{result:#}");
    let detail = result["error"]["detail"].as_str().unwrap();
    assert!(detail.contains("MEDIUM ERROR"), "{detail}");
    assert!(!file.exists(), "nothing placed: {}", file.display());
    let rips = daemon
        .log_lines()
        .iter()
        .filter(|l| l.contains("starting rip task"))
        .count();
    assert_eq!(rips, 1, "{}", daemon.log_text());
    daemon.stop();
}
