//! Hooks (SPEC §11.1): the user's own commands, run when a disc goes in, a scan or a rip
//! completes, a task fails or the queue empties.
//!
//! - [`payload`]: which event calls which hook, and what the hook is told (pure).
//! - [`child`]: running one hook (process group, stdin, time limit, stderr tail).
//!
//! One dispatcher task listens on the event bus and hands each hook to a task of its own
//! that waits for one of [`MAX_RUNNING`] slots. Nothing here can block the engine (the
//! bus never waits for a receiver) or change a task's outcome (results are written before
//! the events that call hooks are published).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::hooks::Hooks;
use crate::core::{DaemonEvent, EventBus, StatusHandle};

pub mod child;
pub mod payload;

/// At most this many hooks run at once; the others wait for a slot.
pub const MAX_RUNNING: usize = 4;
/// Beyond this many hooks waiting for a slot, new ones are dropped with a warning (a
/// hook that always hangs must not grow the daemon without bound).
pub const MAX_WAITING: usize = 1000;
/// A hook's time limit unless a test shortens it.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(60);

/// The hooks and how long each may run.
#[derive(Debug, Clone)]
pub struct HookOptions {
    /// Event → argv, from `daemon.yaml`.
    pub hooks: Hooks,
    /// [`DEFAULT_LIMIT`], or the hidden `--hook-timeout-ms` of the tests.
    pub limit: Duration,
}

impl Default for HookOptions {
    fn default() -> Self {
        Self {
            hooks: Hooks::new(),
            limit: DEFAULT_LIMIT,
        }
    }
}

/// Starts running hooks for events on `bus` (nothing at all when none is configured).
/// Subscribes at once, so no event published after this returns is missed. On shutdown
/// waiting hooks are dropped and running ones terminated (see [`child`]).
pub fn spawn(
    options: HookOptions,
    bus: &EventBus,
    status: &StatusHandle,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) {
    if options.hooks.is_empty() {
        return;
    }
    for (hook, argv) in &options.hooks {
        tracing::info!("hook {}: {}", hook.key(), argv.join(" "));
    }
    let dispatcher = Dispatcher {
        options,
        status: status.clone(),
        tasks: tasks.clone(),
        slots: Arc::new(Semaphore::new(MAX_RUNNING)),
        waiting: Arc::new(AtomicUsize::new(0)),
        shutdown: shutdown.child_token(),
    };
    tasks.spawn(dispatcher.run(bus.subscribe()));
}

struct Dispatcher {
    options: HookOptions,
    status: StatusHandle,
    tasks: TaskTracker,
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    shutdown: CancellationToken,
}

impl Dispatcher {
    async fn run(self, mut events: tokio::sync::broadcast::Receiver<DaemonEvent>) {
        let mut matcher = payload::Matcher::default();
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                () = self.shutdown.cancelled() => return,
            };
            let event = match event {
                Ok(event) => event,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("hooks fell {n} events behind; their hooks did not run");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            // Progress and the like call no hook: no snapshot copy for them.
            if !matches!(
                event,
                DaemonEvent::TaskFinished { .. }
                    | DaemonEvent::QueueChanged { .. }
                    | DaemonEvent::Disc { .. }
            ) {
                continue;
            }
            let now = self.status.get();
            for (hook, payload) in matcher.on_event(&event, &now) {
                let Some(argv) = self.options.hooks.get(&hook) else {
                    continue;
                };
                let run = child::HookRun {
                    hook,
                    argv: argv.clone(),
                    env: payload.env(),
                    stdin: serde_json::to_vec(&payload).unwrap_or_default(),
                };
                self.queue(run);
            }
        }
    }

    /// Hands `run` to a task that waits for a slot (tokio's semaphore is fair: hooks
    /// start in the order of their events).
    fn queue(&self, run: child::HookRun) {
        if self.waiting.load(Ordering::Relaxed) >= MAX_WAITING {
            tracing::warn!(
                "hook {} dropped: {MAX_WAITING} hooks already wait to run",
                run.hook.key()
            );
            return;
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let slots = self.slots.clone();
        let waiting = self.waiting.clone();
        let shutdown = self.shutdown.clone();
        let limit = self.options.limit;
        self.tasks.spawn(async move {
            let slot = tokio::select! {
                slot = slots.acquire_owned() => slot,
                () = shutdown.cancelled() => return,
            };
            waiting.fetch_sub(1, Ordering::Relaxed);
            let Ok(_slot) = slot else { return };
            child::run(run, limit, shutdown).await;
        });
    }
}

/// Where `program` would be found, as `execvp` looks for it: itself when it has a `/`,
/// else the first executable file of that name on `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return is_executable(&path).then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_like_execvp_finds_them() {
        assert!(find_program("sh").is_some());
        assert_eq!(find_program("/bin/sh"), Some(PathBuf::from("/bin/sh")));
        assert_eq!(find_program("/etc/passwd"), None);
        assert_eq!(find_program("no-such-program-amphigory"), None);
        assert_eq!(find_program("/tmp"), None);
    }
}
