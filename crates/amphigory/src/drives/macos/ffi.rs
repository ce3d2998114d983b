//! DiskArbitration (macOS only; the one file with `unsafe`): a `DASession` scheduled on a
//! dedicated thread's own `CFRunLoop`, disk appeared/disappeared callbacks matched to
//! optical media (`IOCDMedia`, `IODVDMedia`, `IOBDMedia`), each description read into the
//! plain [`DiskDescription`] and decided by the pure functions in [`super::disk_rules`].
//!
//! Discs present at start-up arrive through the appeared callback, as DiskArbitration
//! reports every matching disk when a callback is registered. The fingerprint comes from
//! `drutil status -xml` run as a child process (no filesystem reads of a cold drive). The
//! run loop runs in short slices so the thread sees `shutdown` and leaves promptly; the
//! rest of the daemon never blocks on it.

use std::collections::HashMap;
use std::ffi::{CStr, c_void};
use std::process::{Command, Stdio};
use std::ptr::NonNull;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use objc2_core_foundation::{
    CFBoolean, CFDictionary, CFRetained, CFRunLoop, CFRunLoopMode, CFString, CFType,
    kCFRunLoopDefaultMode,
};
use objc2_disk_arbitration::{
    DADisk, DARegisterDiskAppearedCallback, DARegisterDiskDisappearedCallback, DASession,
    DAUnregisterCallback, kDADiskDescriptionDeviceModelKey, kDADiskDescriptionDeviceProtocolKey,
    kDADiskDescriptionDeviceVendorKey, kDADiskDescriptionMediaBSDNameKey,
    kDADiskDescriptionMediaEjectableKey, kDADiskDescriptionMediaKindKey,
    kDADiskDescriptionMediaWholeKey, kDADiskDescriptionVolumeNameKey,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::disk_rules::{self, DiskDescription, KIND_BD, KIND_CD, KIND_DVD, OpticalDisc};
use crate::drives::{DetectError, DiscEvent, DriveMonitor, drutil};
use crate::fingerprint::MediumKind;

/// The shape of both DiskArbitration callbacks used here.
type Callback = unsafe extern "C-unwind" fn(NonNull<DADisk>, *mut c_void);

/// How long one run-loop slice lasts before the thread checks for shutdown.
const SLICE_SECONDS: f64 = 0.25;
/// Run-loop slices after registration by which the media present at start-up are reported.
const SETTLE_SLICES: u32 = 4;
/// Longest wait for `drutil status -xml`.
const DRUTIL_TIMEOUT: Duration = Duration::from_secs(30);

/// The macOS [`DriveMonitor`]: DiskArbitration on its own thread.
#[derive(Debug, Default)]
pub struct MacosMonitor;

impl MacosMonitor {
    /// A monitor; nothing happens until [`DriveMonitor::start`].
    pub fn new() -> Self {
        Self
    }
}

impl DriveMonitor for MacosMonitor {
    fn start(
        self: Box<Self>,
        events: mpsc::Sender<DiscEvent>,
        shutdown: CancellationToken,
    ) -> Result<(), DetectError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("diskarbitration".into())
            .spawn(move || run(events, shutdown, &ready_tx))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(DetectError::Io(std::io::Error::other(
                "DiskArbitration thread ended before starting",
            ))),
        }
    }
}

/// Per-session state the callbacks see through their context pointer.
struct State {
    events: mpsc::Sender<DiscEvent>,
    /// BSD name → raw device of the optical media reported as inserted.
    known: Mutex<HashMap<String, String>>,
}

impl State {
    fn send(&self, event: DiscEvent) {
        // A closed channel means the daemon is going away; the loop notices and stops.
        let _ = self.events.blocking_send(event);
    }

    fn appeared(&self, disc: OpticalDisc) {
        let fresh = self
            .known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(disc.bsd_name.clone(), disc.device.clone())
            .is_none();
        let fingerprint = fingerprint(&disc);
        if fresh {
            self.send(DiscEvent::DriveAdded(disc.drive()));
        }
        self.send(DiscEvent::Inserted(disc.disc(fingerprint)));
    }

    fn disappeared(&self, bsd_name: &str) {
        let device = self
            .known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(bsd_name);
        if let Some(device) = device {
            self.send(DiscEvent::Ejected {
                device: device.clone(),
            });
            self.send(DiscEvent::DriveRemoved { device });
        }
    }
}

/// The thread body: session, callbacks, run loop slices until shutdown.
fn run(
    events: mpsc::Sender<DiscEvent>,
    shutdown: CancellationToken,
    ready: &std::sync::mpsc::Sender<Result<(), DetectError>>,
) {
    let fail = |what: &str| {
        let _ = ready.send(Err(DetectError::Io(std::io::Error::other(what.to_owned()))));
    };
    // SAFETY: DASessionCreate with the default allocator has no preconditions.
    let Some(session) = (unsafe { DASession::new(None) }) else {
        return fail("DASessionCreate failed");
    };
    let Some(run_loop) = CFRunLoop::current() else {
        return fail("no CFRunLoop for the DiskArbitration thread");
    };
    // SAFETY: reading an immutable CoreFoundation constant.
    let Some(mode) = (unsafe { kCFRunLoopDefaultMode }) else {
        return fail("kCFRunLoopDefaultMode missing");
    };
    let state = Box::new(State {
        events: events.clone(),
        known: Mutex::new(HashMap::new()),
    });
    let context: *const State = &*state;
    let context = context.cast_mut().cast::<c_void>();
    let matches = optical_matches();
    register(&session, &matches, context);
    // SAFETY: both objects are valid; the session is scheduled on this thread's run loop.
    unsafe { session.schedule_with_run_loop(&run_loop, mode) };
    let _ = ready.send(Ok(()));
    // DiskArbitration reports the media already present from the run loop's first
    // passes; after those, "no disc" means no disc.
    let mut slices_until_settled = SETTLE_SLICES;
    while !shutdown.is_cancelled() && !events.is_closed() {
        CFRunLoop::run_in_mode(Some(mode), SLICE_SECONDS, false);
        if slices_until_settled > 0 {
            slices_until_settled -= 1;
            if slices_until_settled == 0 {
                state.send(DiscEvent::Settled);
            }
        }
    }
    unregister(&session, &run_loop, mode, matches.len(), context);
    drop(state);
}

/// The match dictionaries, one per optical media kind.
type Matches = [CFRetained<CFDictionary<CFString, CFType>>];

/// Registers both callbacks once per match dictionary.
fn register(session: &DASession, matches: &Matches, context: *mut c_void) {
    for m in matches {
        // SAFETY: the session and match dictionary are valid CF objects; the callbacks
        // have the signatures DiskArbitration expects; `context` points at the `State`
        // owned by `run`, which outlives the registration (`unregister` runs first).
        unsafe {
            DARegisterDiskAppearedCallback(
                session,
                Some(m.as_opaque()),
                Some(on_appeared),
                context,
            );
            DARegisterDiskDisappearedCallback(
                session,
                Some(m.as_opaque()),
                Some(on_disappeared),
                context,
            );
        }
    }
}

/// Unschedules the session and removes every registration made by [`register`].
fn unregister(
    session: &DASession,
    run_loop: &CFRunLoop,
    mode: &CFRunLoopMode,
    registrations: usize,
    context: *mut c_void,
) {
    let appeared_fn: Callback = on_appeared;
    let disappeared_fn: Callback = on_disappeared;
    // SAFETY: called on the thread that scheduled and registered, before the callbacks'
    // context (`State`) is dropped; the function pointers are non-null.
    unsafe {
        session.unschedule_from_run_loop(run_loop, mode);
        for _ in 0..registrations {
            for callback in [appeared_fn as *mut c_void, disappeared_fn as *mut c_void] {
                if let Some(callback) = NonNull::new(callback) {
                    DAUnregisterCallback(session, callback, context);
                }
            }
        }
    }
}

/// One match dictionary per optical media kind (`DAMediaKind` matches by IOKit class).
fn optical_matches() -> Vec<CFRetained<CFDictionary<CFString, CFType>>> {
    // SAFETY: reading immutable DiskArbitration key constants.
    let (kind_key, whole_key) = unsafe {
        (
            kDADiskDescriptionMediaKindKey,
            kDADiskDescriptionMediaWholeKey,
        )
    };
    [KIND_CD, KIND_DVD, KIND_BD]
        .iter()
        .map(|kind| {
            let kind = CFString::from_static_str(kind);
            let whole: &CFType = CFBoolean::new(true).as_ref();
            CFDictionary::from_slices(&[kind_key, whole_key], &[kind.as_ref(), whole])
        })
        .collect()
}

/// `DADiskAppearedCallback`.
unsafe extern "C-unwind" fn on_appeared(disk: NonNull<DADisk>, context: *mut c_void) {
    // SAFETY: DiskArbitration passes a valid disk for the duration of the callback, and
    // `context` is the `State` registered in `run`, alive until unregistered.
    let (disk, state) = unsafe { (disk.as_ref(), &*context.cast::<State>()) };
    let Some(desc) = describe(disk) else {
        return;
    };
    if let Some(disc) = disk_rules::optical_disc(&desc) {
        state.appeared(disc);
    }
}

/// `DADiskDisappearedCallback`.
unsafe extern "C-unwind" fn on_disappeared(disk: NonNull<DADisk>, context: *mut c_void) {
    // SAFETY: as in `on_appeared`.
    let (disk, state) = unsafe { (disk.as_ref(), &*context.cast::<State>()) };
    // SAFETY: the disk is valid; the returned C string (or null) lives as long as it.
    let name = unsafe { disk.bsd_name() };
    if name.is_null() {
        return;
    }
    // SAFETY: non-null, NUL-terminated string owned by the disk object.
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    state.disappeared(&name);
}

/// The description dictionary as a plain record.
fn describe(disk: &DADisk) -> Option<DiskDescription> {
    // SAFETY: the disk object is valid (see callers); the copy is owned by `raw`.
    let raw = unsafe { disk.description() }?;
    // SAFETY: description dictionaries have CFString keys and CF object values.
    let dict: &CFDictionary<CFString, CFType> = unsafe { raw.cast_unchecked() };
    let text = |key: &CFString| {
        dict.get(key)
            .and_then(|v| v.downcast_ref::<CFString>().map(ToString::to_string))
    };
    let flag = |key: &CFString| {
        dict.get(key)
            .and_then(|v| v.downcast_ref::<CFBoolean>().map(CFBoolean::as_bool))
    };
    // SAFETY: reading immutable DiskArbitration key constants.
    unsafe {
        Some(DiskDescription {
            media_kind: text(kDADiskDescriptionMediaKindKey),
            media_whole: flag(kDADiskDescriptionMediaWholeKey),
            bsd_name: text(kDADiskDescriptionMediaBSDNameKey),
            volume_name: text(kDADiskDescriptionVolumeNameKey),
            device_protocol: text(kDADiskDescriptionDeviceProtocolKey),
            ejectable: flag(kDADiskDescriptionMediaEjectableKey),
            device_vendor: text(kDADiskDescriptionDeviceVendorKey),
            device_model: text(kDADiskDescriptionDeviceModelKey),
        })
    }
}

/// Fingerprint from `drutil status -xml` for this disc's drive: first asking for the drive
/// by its model (`-drive GP65NS60`), then for the default drive. `None` when drutil is
/// missing or slow, or its output names another device or another kind of disc.
fn fingerprint(disc: &OpticalDisc) -> Option<String> {
    let model = disc
        .model
        .as_deref()
        .and_then(|m| m.split_whitespace().last());
    let attempts = [
        model.map(|m| vec!["-drive", m, "status", "-xml"]),
        Some(vec!["status", "-xml"]),
    ];
    attempts.into_iter().flatten().find_map(|args| {
        let mut cmd = Command::new("/usr/bin/drutil");
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let output = run_with_timeout(cmd, DRUTIL_TIMEOUT)?;
        let facts = drutil::parse_xml_for_device(&output, &disc.bsd_name).ok()??;
        let bluray = |k| matches!(k, MediumKind::Bluray | MediumKind::Uhd);
        let same = facts.kind == disc.medium || (bluray(facts.kind) && bluray(disc.medium));
        same.then(|| facts.fingerprint())
    })
}

fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Option<String> {
    let mut child = cmd.spawn().ok()?;
    let mut stdout = child.stdout.take()?;
    // Read on the side so a full pipe can never stall the child.
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).map(|_| out)
    });
    let started = Instant::now();
    let ok = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.success(),
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
        }
    };
    let out = reader.join().ok()?.ok()?;
    ok.then_some(out)
}
