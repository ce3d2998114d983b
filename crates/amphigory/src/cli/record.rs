//! `amphigory record DIR` (SPEC §11.3): saves a real session — makemkvcon's raw `info`
//! output, the disc events, the drive's facts — into a folder that `--simulate DIR`
//! replays, serial numbers removed. Also the options `selftest` shares.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{LoadRequest, Settings};
use crate::record::session::{Makemkvcon, Session, SessionOptions};

/// What `selftest` and `record` look at.
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// Only this drive (`/dev/sr0`, `/dev/rdisk4`) [default: the first with a disc].
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
    /// A simulated drive holding this disc instead of the real drives: a built-in disc,
    /// a transcript or a recording folder.
    #[arg(long, value_name = "DISC")]
    pub simulate: Option<String>,
    /// daemon.yaml to read makemkvcon_path and daemon_id from.
    #[arg(long, env = "AMPHIGORY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Options of `amphigory record`.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordArgs {
    /// Folder to write the recording into (made if missing).
    pub dir: PathBuf,
    /// Which drive, or a simulated one.
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Watch this many seconds for disc events first (put the disc in, or take it out
    /// and back, meanwhile); the disc in the drive at the end is scanned. On Linux the
    /// kernel's raw uevents are recorded too.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub watch: u64,
}

/// The session options: the probe arguments, with makemkvcon's configured path and the
/// daemon id from daemon.yaml (the webapp is not asked).
pub(super) async fn session_options(args: &ProbeArgs, no_scan: bool) -> SessionOptions {
    let request = LoadRequest {
        config_file: args.config.clone(),
        env: crate::config::process_env().unwrap_or_else(|_| Settings::default()),
        no_webapp: true,
        ..LoadRequest::default()
    };
    let (configured, daemon_id) = match crate::config::load(&request).await {
        Ok(loaded) => (
            loaded.effective.makemkvcon_path.value,
            loaded.effective.daemon_id.value,
        ),
        Err(e) => {
            eprintln!("note: configuration not read ({e}); using defaults");
            (None, "amphigory".to_owned())
        }
    };
    SessionOptions {
        device: args.device.clone(),
        simulate: args.simulate.clone(),
        configured_makemkvcon: configured,
        daemon_id,
        no_scan,
        watch: std::time::Duration::ZERO,
    }
}

/// Runs the command.
pub fn run(args: &RecordArgs) -> ExitCode {
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("amphigory record: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let session = runtime.block_on(async {
        let mut options = session_options(&args.probe, false).await;
        options.watch = std::time::Duration::from_secs(args.watch);
        if args.watch > 0 {
            eprintln!(
                "Watching for {} s: put the disc in now (or take it out and put it back).",
                args.watch
            );
        }
        crate::record::session::run(&options).await
    });
    let session = match session {
        Ok(session) => session,
        Err(e) => {
            eprintln!("amphigory record: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some((recording, files)) = session.recording() else {
        eprintln!("amphigory record: nothing recorded: {}", why_not(&session));
        return ExitCode::FAILURE;
    };
    if let Err(e) = crate::record::write(&args.dir, &recording, &files) {
        eprintln!("amphigory record: writing {}: {e}", args.dir.display());
        return ExitCode::FAILURE;
    }
    println!(
        "Recorded {} ({} {}, fingerprint {}) into {}:",
        recording.drive.device,
        recording.disc.disc_type.as_deref().unwrap_or("disc"),
        recording
            .disc
            .volume_name
            .as_deref()
            .unwrap_or("without a volume name"),
        recording.disc.fingerprint.as_deref().unwrap_or("unknown"),
        args.dir.display()
    );
    for (name, _) in &files {
        println!("  {name}");
    }
    println!(
        "  {}\nReplay it with `amphigory daemon --simulate {}`; attach the folder to a bug \
         report (serial numbers are removed, volume names kept).",
        crate::record::RECORDING_FILE,
        args.dir.display()
    );
    ExitCode::SUCCESS
}

/// Why a session has nothing to record.
fn why_not(session: &Session) -> String {
    if let Some(Err(e)) = &session.capture {
        return format!("makemkvcon info failed: {e}");
    }
    if session.disc.is_none() {
        return match (
            &session.detected.problem,
            session.detected.drives.is_empty(),
        ) {
            (Some(problem), _) => format!("no disc found ({problem})"),
            (None, true) => "no optical drive found".into(),
            (None, false) => "no disc in any drive: insert one and run again".into(),
        };
    }
    match &session.makemkvcon {
        Makemkvcon::Missing(why) => why.clone(),
        Makemkvcon::Broken(path, why) => format!("{} does not run: {why}", path.display()),
        _ => "makemkvcon did not run".into(),
    }
}
