//! `amphigory daemon`: runs the daemon in the foreground until SIGINT, SIGTERM or `stop`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::ToExitCode;
use crate::config::{ConfigError, LoadRequest, Loaded, Settings};
use crate::daemon::{ApplyConfig, DaemonOptions, SimOptions};

/// Options of `amphigory daemon` (SPEC §2).
#[derive(Debug, Clone, clap::Args)]
pub struct DaemonArgs {
    /// daemon.yaml to read (default ~/.config/amphigory/daemon.yaml).
    #[arg(long, env = "AMPHIGORY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Queue directory; bypasses path resolution from the webapp config
    /// (env AMPHIGORY_TASKS_DIR).
    #[arg(long)]
    pub tasks_dir: Option<PathBuf>,
    /// Labels, attempt counts, claim records and cached config.
    #[arg(long, env = "AMPHIGORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Never contact a webapp.
    #[arg(long)]
    pub no_webapp: bool,
    /// Simulated drives instead of real ones: built-in disc names, transcript paths or
    /// recording folders (`amphigory record`).
    #[arg(long, value_delimiter = ',', value_name = "DISC[,DISC…]")]
    pub simulate: Vec<String>,
    /// Read rate of simulated drives, MB/s [default: 2000].
    #[arg(long, value_name = "MBPS")]
    pub sim_rate: Option<f64>,
    /// Make the simulated drive fail once: stall@P, eject@P, unreadable, spinup, exit@P,
    /// nospace@P, badsector@P, corrupt@P (a broken Matroska header), short@P (the file
    /// stops early; success is reported anyway).
    #[arg(long, value_name = "KIND[@PERCENT]")]
    pub sim_fault: Option<String>,
    /// Stall limit in seconds: a rip printing nothing for this long is killed [default: 120].
    #[arg(long, value_name = "SECONDS")]
    pub stall_timeout: Option<u64>,
    /// WebSocket server port on 127.0.0.1 and ::1 (0 = any free port, logged)
    /// (env AMPHIGORY_WS_PORT; default: the webapp's websocket_port, else 9847).
    #[arg(long)]
    pub ws_port: Option<u16>,
    /// No menu-bar / tray icon.
    #[arg(long)]
    pub headless: bool,
    /// Eject a disc after the last task for it (daemon.yaml: `auto_eject: true`).
    #[arg(long)]
    pub auto_eject: bool,
    /// What to notify the desktop of: all, errors or off (daemon.yaml: `notifications:`;
    /// default all).
    #[arg(long, value_name = "LEVEL")]
    pub notifications: Option<crate::notify::Level>,
    /// Log level (error, warn, info, debug, trace) or a tracing filter
    /// (env AMPHIGORY_LOG; default: daemon.yaml, the webapp's log_level, else info).
    #[arg(long)]
    pub log_level: Option<String>,
    /// Log to this file (plain text with timestamps, rotated at 10 MiB, 4 old files
    /// kept) instead of stderr; the LaunchAgent uses ~/Library/Logs/Amphigory/daemon.log.
    #[arg(long, env = "AMPHIGORY_LOG_FILE", value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Lease length in milliseconds instead of five minutes (tests of lease expiry).
    #[arg(long, hide = true, value_name = "MS")]
    pub lease_ms: Option<u64>,
    /// Check free space before simulated rips too, with this margin in bytes (tests of
    /// the free-space rules; simulated rips are sparse files and need no space).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub sim_free_space_margin: Option<u64>,
    /// A hook's time limit in milliseconds instead of 60 s (tests of the hook limit).
    #[arg(long, hide = true, value_name = "MS")]
    pub hook_timeout_ms: Option<u64>,
    /// Lose this share (%) of file-system events on purpose (tests of the safety rescan).
    #[arg(long, hide = true, value_name = "PERCENT", default_value_t = 0)]
    pub lose_fs_events: u8,
    /// The control socket: the global `--socket` (see [`crate::cli::Cli`]).
    #[arg(skip)]
    pub socket: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: DaemonArgs) -> ExitCode {
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("amphigory daemon: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.headless {
        return runtime.block_on(serve(args, None));
    }
    // The tray on this (the main) thread, the daemon on the runtime's worker threads;
    // they talk only through messages (SPEC §10).
    crate::tray::run(runtime, move |tray| serve(args, Some(tray)))
}

/// Loads the configuration and runs the daemon until it stops, shown in the tray when
/// there is one.
async fn serve(args: DaemonArgs, tray: Option<crate::tray::TrayLink>) -> ExitCode {
    // The configuration first (the webapp's answer, or at most its 2 s deadline): the
    // log level is part of it.
    let loaded = match load_config(&args).await {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("amphigory daemon: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    let level = &loaded.effective.log_level.value;
    match &args.log_file {
        Some(file) => super::logging::to_file(level, file),
        None => super::init_logging(level),
    }
    loaded.log_summary();
    let options = match options_from_args(&args, &loaded) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("amphigory daemon: {message}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let shutdown = super::shutdown_on_signals();
    let result = match tray {
        Some(tray) => {
            let config = crate::tray::TrayConfig::from_config(&loaded.effective);
            tray.run_daemon(options, config, shutdown).await
        }
        None => crate::daemon::run(options, shutdown).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("amphigory daemon: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// daemon.yaml, the environment, the webapp (or its cache), with these flags on top.
async fn load_config(args: &DaemonArgs) -> Result<Loaded, ConfigError> {
    let request = LoadRequest {
        config_file: args.config.clone(),
        state_dir: args.state_dir.clone(),
        flags: Settings {
            tasks_dir: args.tasks_dir.clone(),
            websocket_port: args.ws_port,
            log_level: args.log_level.clone(),
            ..Settings::default()
        },
        env: crate::config::process_env()?,
        no_webapp: args.no_webapp,
        ..LoadRequest::default()
    };
    crate::config::load(&request).await
}

/// Flags first, then daemon.yaml, for the daemon's own options; the rest comes from the
/// resolved configuration.
/// Why the flags and daemon.yaml do not make daemon options (a usage error).
#[derive(Debug, thiserror::Error)]
enum OptionsError {
    /// `--sim-fault` (or `sim_fault:`) names no fault.
    #[error(transparent)]
    Fault(#[from] crate::sim::ParseFaultError),
    /// No control socket path can be worked out.
    #[error(transparent)]
    Socket(#[from] crate::servers::control::SocketPathError),
}

fn options_from_args(args: &DaemonArgs, loaded: &Loaded) -> Result<DaemonOptions, OptionsError> {
    let file = &loaded.file;
    let discs = if args.simulate.is_empty() {
        file.simulate.clone().unwrap_or_default()
    } else {
        args.simulate.clone()
    };
    let simulate = if discs.is_empty() {
        None
    } else {
        let fault = args
            .sim_fault
            .as_deref()
            .or(file.sim_fault.as_deref())
            .map(str::parse::<crate::sim::Fault>)
            .transpose()?;
        Some(SimOptions {
            discs,
            rate_mbps: args
                .sim_rate
                .or(file.sim_rate)
                .unwrap_or(crate::sim::DEFAULT_RATE_MBPS),
            fault,
        })
    };
    let mut options = DaemonOptions::new(
        loaded.effective.tasks_dir.value.clone(),
        loaded.state_dir.clone(),
    );
    options.simulate = simulate;
    let stall = args.stall_timeout.or(file.stall_timeout).unwrap_or(120);
    options.stall_timeout = std::time::Duration::from_secs(stall);
    options.engine.auto_eject = args.auto_eject || file.auto_eject.unwrap_or(false);
    options.notifications = args
        .notifications
        .or(file.notifications)
        .unwrap_or_default();
    options.drive_labels = file.drives.clone().unwrap_or_default();
    if let Some(ms) = args.lease_ms {
        options.set_lease(std::time::Duration::from_millis(ms));
    }
    options.sim_free_space_margin = args.sim_free_space_margin;
    options.fs_event_loss = args.lose_fs_events;
    options.keep_awake = file.keep_awake.unwrap_or(true);
    if let Some(hooks) = &file.hooks {
        // Checked when daemon.yaml was read: an error here cannot happen.
        options.hooks.hooks = crate::config::hooks::typed(hooks).unwrap_or_default();
    }
    if let Some(ms) = args.hook_timeout_ms {
        options.hooks.limit = std::time::Duration::from_millis(ms);
    }
    let socket = crate::servers::control::socket_path(args.socket.as_deref());
    options.socket = Some(socket?);
    loaded.apply(&mut options);
    Ok(options)
}
