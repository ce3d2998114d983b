#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Hooks (SPEC §11.1) with real processes: `#!/bin/sh` scripts written here into the
//! test's directory, run by the real daemon on a simulated drive (what they are told,
//! the time limit and its process-group kill, a failing hook), and by the hook runner
//! in-process for twenty events published at once (never more than four running).

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use amphigory::config::hooks::HookEvent;
use amphigory::core::{DaemonEvent, EventBus, FinishedFacts, StatusHandle, StatusSnapshot};
use amphigory::hooks::{HookOptions, MAX_RUNNING};
use amphigory_wire::task::TaskType;
use serde_json::Value;
use support::daemon::{Daemon, DaemonSpec, Rig, WAIT, wait_for};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const TITLE_6: u32 = 6;

/// Writes an executable `#!/bin/sh` script.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A daemon reading `yaml` as its daemon.yaml, with these extra arguments.
fn daemon_with(rig: &Rig, name: &str, yaml: &str, args: &[&str]) -> Daemon {
    let config = rig.root().join(format!("{name}.yaml"));
    fs::write(&config, yaml).unwrap();
    let spec = DaemonSpec::new(name)
        .with_args(&["--config", config.to_str().unwrap()])
        .with_args(args);
    rig.start_with(&spec)
}

/// Records its environment (`AMPHIGORY_*`) and stdin into `<dir>/<event>-<task>.*`,
/// each file written under a temporary name and renamed, so a file seen is whole.
const RECORD: &str = r#"dir="$1"
name="$AMPHIGORY_EVENT-${AMPHIGORY_TASK_ID:-none}"
env | grep '^AMPHIGORY_' | sort > "$dir/.$name.env"
cat > "$dir/.$name.json"
mv "$dir/.$name.env" "$dir/$name.env"
mv "$dir/.$name.json" "$dir/$name.json"
"#;

/// `KEY=value` lines as a map.
fn env_of(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Waits for `<dir>/<name>.json` and `.env`; both parsed.
fn recorded(dir: &Path, name: &str) -> (BTreeMap<String, String>, Value) {
    let json = dir.join(format!("{name}.json"));
    wait_for(&format!("hook record {name}"), WAIT, &[dir], || {
        json.is_file().then_some(())
    });
    let env = env_of(&fs::read_to_string(dir.join(format!("{name}.env"))).unwrap());
    let stdin = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    (env, stdin)
}

#[test]
fn a_hook_is_told_the_event_in_its_environment_and_on_stdin() {
    let rig = Rig::new();
    let records = rig.root().join("records");
    fs::create_dir(&records).unwrap();
    let record = script(rig.root(), "record.sh", RECORD);
    let (rec, dir) = (record.display(), records.display());
    let yaml = format!(
        "hooks:\n  on_rip_complete: [{rec}, {dir}]\n  on_task_failed: [{rec}, {dir}]\n  \
         on_queue_empty: [{rec}, {dir}]\n"
    );
    let daemon = daemon_with(&rig, "record", &yaml, &[]);
    let (id, file) = rig.enqueue_rip(TITLE_6, "Hooked");
    assert_eq!(rig.wait_result(&id, WAIT)["status"], "success");

    let (env, stdin) = recorded(&records, &format!("rip_complete-{id}"));
    let drive = "record@".to_owned();
    assert_eq!(env["AMPHIGORY_EVENT"], "rip_complete", "{env:?}");
    assert_eq!(env["AMPHIGORY_TASK_ID"], id);
    assert_eq!(env["AMPHIGORY_TASK_TYPE"], "rip");
    assert_eq!(env["AMPHIGORY_OUTPUT_PATH"], file.display().to_string());
    assert!(env["AMPHIGORY_DRIVE_ID"].starts_with(&drive), "{env:?}");
    assert!(env["AMPHIGORY_DRIVE_ID"].ends_with(":sim0"), "{env:?}");
    assert_eq!(env["AMPHIGORY_TITLE"], "6");
    assert_eq!(
        env["AMPHIGORY_SIZE_BYTES"],
        fs::metadata(&file).unwrap().len().to_string()
    );
    assert!(!env.contains_key("AMPHIGORY_ERROR_CODE"), "{env:?}");
    assert_eq!(stdin["event"], "rip_complete", "{stdin:#}");
    assert_eq!(stdin["task_id"], id.as_str());
    assert_eq!(stdin["output_path"], file.display().to_string());
    assert_eq!(stdin["drive_id"], env["AMPHIGORY_DRIVE_ID"].as_str());
    assert_eq!(stdin["title"], 6);
    let (empty_env, empty) = recorded(&records, "queue_empty-none");
    assert_eq!(empty_env["AMPHIGORY_EVENT"], "queue_empty");
    assert_eq!(empty["event"], "queue_empty");

    // A rip of a title the disc does not have fails: the code reaches the hook.
    let (bad, _) = rig.enqueue_rip(99, "Missing");
    let failed = rig.wait_result(&bad, WAIT);
    let code = failed["error"]["code"].as_str().unwrap().to_owned();
    let (env, stdin) = recorded(&records, &format!("task_failed-{bad}"));
    assert_eq!(env["AMPHIGORY_ERROR_CODE"], code, "{env:?}");
    assert_eq!(stdin["error"]["code"], code.as_str(), "{stdin:#}");
    assert_eq!(stdin["error"]["message"], failed["error"]["message"]);
    daemon.wait_log("hook on_task_failed (", WAIT);
}

/// Whether `pid` is a live process (a zombie nobody reaped yet counts as gone).
fn alive(pid: i32) -> bool {
    #[cfg(target_os = "linux")]
    {
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
                Some(state != 'Z')
            })
            .unwrap_or(false)
    }
    #[cfg(not(target_os = "linux"))]
    {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
    }
}

#[test]
fn a_hook_past_its_limit_is_killed_with_its_group_and_a_failing_hook_is_logged() {
    let rig = Rig::new();
    let dir = rig.root().join("slow");
    fs::create_dir(&dir).unwrap();
    // Its grandchild is in the hook's process group: the kill must reach it too.
    let slow = script(rig.root(), "slow.sh", HANG);
    let fail = script(rig.root(), "fail.sh", "echo something broke >&2\nexit 3\n");
    let yaml = format!(
        "hooks:\n  on_rip_complete: [{}, {}]\n  on_queue_empty: [{}]\n",
        slow.display(),
        dir.display(),
        fail.display()
    );
    let daemon = daemon_with(&rig, "limit", &yaml, &["--hook-timeout-ms", "1500"]);
    let (id, _file) = rig.enqueue_rip(TITLE_6, "Slow");
    let result = rig.wait_result(&id, WAIT);
    assert_eq!(result["status"], "success", "{result:#}");

    let grandchild = grandchild_of(&dir);
    assert!(alive(grandchild), "the grandchild runs while the hook does");
    let killed = daemon.wait_log(
        "still running after 1.5s: its process group was killed",
        WAIT,
    );
    assert!(killed.contains("hook on_rip_complete"), "{killed}");
    assert!(killed.contains("stderr: about to hang"), "{killed}");
    wait_for("the hook's grandchild to be gone", WAIT, &[], || {
        (!alive(grandchild)).then_some(())
    });
    // The hook changed nothing of the task's outcome.
    assert_eq!(rig.wait_result(&id, WAIT), result);

    let failed = daemon.wait_log("hook on_queue_empty (", WAIT);
    assert!(failed.contains("failed: exit status: 3"), "{failed}");
    assert!(failed.contains("stderr: something broke"), "{failed}");
}

/// Starts a grandchild (in the hook's process group), writes its pid to `$1/child.pid` and hangs waiting for it.
const HANG: &str = "sleep 1000 &\necho $! > \"$1/.pid\"\nmv \"$1/.pid\" \"$1/child.pid\"\n\
                    echo about to hang >&2\nwait\n";

/// The pid in `<dir>/child.pid`, once the hook wrote it.
fn grandchild_of(dir: &Path) -> i32 {
    let pid_file = dir.join("child.pid");
    wait_for("the hook's grandchild", WAIT, &[dir], || {
        pid_file.is_file().then_some(())
    });
    fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn stopping_the_daemon_ends_a_running_hook_and_everything_it_started() {
    let rig = Rig::new();
    let dir = rig.root().join("hang");
    fs::create_dir(&dir).unwrap();
    let hang = script(rig.root(), "hang.sh", HANG);
    let yaml = format!(
        "hooks:\n  on_rip_complete: [{}, {}]\n",
        hang.display(),
        dir.display()
    );
    // The default 60 s limit: only the shutdown can end this hook within the test.
    let mut daemon = daemon_with(&rig, "stop", &yaml, &[]);
    let (id, _file) = rig.enqueue_rip(TITLE_6, "Hang");
    assert_eq!(rig.wait_result(&id, WAIT)["status"], "success");
    let grandchild = grandchild_of(&dir);
    assert!(alive(grandchild));
    daemon.stop();
    let log = daemon.log_text();
    assert!(
        log.lines().any(|l| l.contains("hook on_rip_complete (")
            && l.contains("stopped: the daemon is shutting down")),
        "{log}"
    );
    wait_for("the hook's grandchild to be gone", WAIT, &[], || {
        (!alive(grandchild)).then_some(())
    });
}

#[test]
fn twenty_events_at_once_run_at_most_four_hooks_at_a_time() {
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("log");
    fs::write(&log, "").unwrap();
    // Appends are atomic for lines this short (O_APPEND): the log is the true order of
    // starts and ends.
    let hook = script(
        root.path(),
        "count.sh",
        "echo \"start $$\" >> \"$1\"\nsleep 1\necho \"end $$\" >> \"$1\"\n",
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bus = EventBus::new();
    let status = StatusHandle::new(StatusSnapshot {
        queue_depth: 50, // so no queue_empty is part of the count
        ..StatusSnapshot::default()
    });
    let tasks = TaskTracker::new();
    let shutdown = CancellationToken::new();
    let options = HookOptions {
        hooks: BTreeMap::from([(
            HookEvent::ScanComplete,
            vec![hook.display().to_string(), log.display().to_string()],
        )]),
        limit: Duration::from_secs(30),
    };
    runtime.block_on(async {
        amphigory::hooks::spawn(options, &bus, &status, &tasks, &shutdown);
        for n in 0..20 {
            bus.publish(DaemonEvent::TaskFinished {
                task_id: format!("scan-{n}"),
                task_type: TaskType::Scan,
                error: None,
                facts: FinishedFacts::default(),
            });
        }
    });
    let lines = wait_for("twenty hooks to end", WAIT, &[root.path()], || {
        let text = fs::read_to_string(&log).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        (lines.iter().filter(|l| l.starts_with("end ")).count() == 20).then_some(lines)
    });
    let mut running = 0usize;
    let mut most = 0usize;
    for line in &lines {
        if line.starts_with("start ") {
            running += 1;
        } else {
            running -= 1;
        }
        most = most.max(running);
    }
    assert_eq!(most, MAX_RUNNING, "{lines:#?}");
    runtime.block_on(async {
        shutdown.cancel();
        tasks.close();
        tokio::time::timeout(WAIT, tasks.wait()).await.unwrap();
    });
}

/// `amphigory <args> --config <root>/daemon.yaml` holding `yaml`, in `root` alone.
fn amphigory(root: &Path, yaml: &str, args: &[&str]) -> std::process::Output {
    let config = root.join("daemon.yaml");
    fs::write(&config, yaml).unwrap();
    std::process::Command::new(support::daemon::BIN)
        .args(args)
        .arg("--config")
        .arg(&config)
        .arg("--state-dir")
        .arg(root.join("state"))
        .env("HOME", root)
        .env_remove("AMPHIGORY_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn an_unknown_hook_stops_the_daemon_naming_its_line() {
    let root = tempfile::tempdir().unwrap();
    let yaml =
        "no_webapp: true\nhooks:\n  on_rip_complete: [/bin/true]\n  on_rip_done: [/bin/true]\n";
    let output = amphigory(root.path(), yaml, &["daemon", "--headless"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("daemon.yaml:4: key `hooks.on_rip_done`: unknown hook"),
        "{stderr}"
    );
    // The fuzz target's property: the line named is the hook's own, or its parent's.
    for text in [
        yaml,
        "hooks:\n  # on_x: no\n  \"on_x\": [a]\n",
        "hooks: {on_x: [a]}\n",
    ] {
        amphigory::fuzz_api::daemon_yaml(text.as_bytes()).unwrap();
    }
}

#[test]
fn doctor_lists_the_hooks_and_checks_their_commands() {
    let root = tempfile::tempdir().unwrap();
    let good = script(root.path(), "good.sh", "exit 0\n");
    let not_executable = root.path().join("plain.sh");
    fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    let yaml = format!(
        "no_webapp: true\nhooks:\n  on_rip_complete: [{}, --flag]\n  on_task_failed: [{}]\n  \
         on_queue_empty: [sh, -c, 'true']\n  on_disc_inserted: [no-such-hook-command]\n",
        good.display(),
        not_executable.display()
    );
    let tasks = root.path().join("tasks");
    fs::create_dir(&tasks).unwrap();
    let output = amphigory(
        root.path(),
        &yaml,
        &["doctor", "--json", "--tasks-dir", tasks.to_str().unwrap()],
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let hooks: BTreeMap<String, (bool, String)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "hook")
        .map(|c| {
            let detail = c["detail"].as_str().unwrap().to_owned();
            let key = detail.split(':').next().unwrap().to_owned();
            (key, (c["ok"] == true, detail))
        })
        .collect();
    assert_eq!(hooks.len(), 4, "{report:#}");
    assert!(hooks["on_rip_complete"].0, "{hooks:?}");
    assert!(hooks["on_rip_complete"].1.contains("--flag"), "{hooks:?}");
    assert!(hooks["on_queue_empty"].0, "found on PATH: {hooks:?}");
    assert!(!hooks["on_task_failed"].0, "not executable: {hooks:?}");
    assert!(!hooks["on_disc_inserted"].0, "missing: {hooks:?}");
    assert_eq!(output.status.code(), Some(1), "a broken hook is a problem");
}
