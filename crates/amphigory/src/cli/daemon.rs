//! `amphigory daemon`: runs the daemon in the foreground until SIGINT, SIGTERM or `stop`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::daemon::{DaemonOptions, SimOptions};

/// Options of `amphigory daemon` (SPEC §2).
#[derive(Debug, Clone, clap::Args)]
pub struct DaemonArgs {
    /// Queue directory; bypasses path resolution from the webapp config.
    #[arg(long, env = "AMPHIGORY_TASKS_DIR")]
    pub tasks_dir: Option<PathBuf>,
    /// Labels, attempt counts, claim records and cached config.
    #[arg(long, env = "AMPHIGORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Never contact a webapp.
    #[arg(long)]
    pub no_webapp: bool,
    /// Simulated drives instead of real ones: built-in disc names or transcript paths.
    #[arg(long, value_delimiter = ',', value_name = "DISC[,DISC…]")]
    pub simulate: Vec<String>,
    /// Read rate of simulated drives, MB/s.
    #[arg(long, value_name = "MBPS", default_value_t = crate::sim::DEFAULT_RATE_MBPS)]
    pub sim_rate: f64,
    /// Make the simulated drive fail once: stall@P, eject@P, unreadable, spinup, exit@P, nospace@P.
    #[arg(long, value_name = "KIND[@PERCENT]")]
    pub sim_fault: Option<String>,
    /// Stall limit in seconds: a rip printing nothing for this long is killed.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub stall_timeout: u64,
    /// WebSocket server port on 127.0.0.1 and ::1 (0 = any free port, logged).
    #[arg(long, env = "AMPHIGORY_WS_PORT", default_value_t = crate::servers::ws::DEFAULT_PORT)]
    pub ws_port: u16,
    /// No menu-bar / tray icon.
    #[arg(long)]
    pub headless: bool,
    /// Log level (error, warn, info, debug, trace) or a tracing filter.
    #[arg(long, env = "AMPHIGORY_LOG", default_value = "info")]
    pub log_level: String,
}

/// Runs the command.
pub fn run(args: DaemonArgs) -> ExitCode {
    super::init_logging(&args.log_level);
    let options = match options_from_args(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("amphigory daemon: {message}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("amphigory daemon: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let shutdown = super::shutdown_on_signals();
        match crate::daemon::run(options, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("amphigory daemon: {e}");
                ExitCode::from(e.exit_code())
            }
        }
    })
}

fn options_from_args(args: &DaemonArgs) -> Result<DaemonOptions, String> {
    let home_state = crate::daemon::default_state_dir();
    let state_dir = args.state_dir.clone().or(home_state).ok_or(
        "no --state-dir given and no home directory to put ~/.config/amphigory in".to_owned(),
    )?;
    let tasks_dir = args.tasks_dir.clone().ok_or(
        "no --tasks-dir given (resolving it from the webapp configuration lands with the config work)"
            .to_owned(),
    )?;
    let simulate = if args.simulate.is_empty() {
        None
    } else {
        let fault = args
            .sim_fault
            .as_deref()
            .map(str::parse::<crate::sim::Fault>)
            .transpose()
            .map_err(|e| e.to_string())?;
        Some(SimOptions {
            discs: args.simulate.clone(),
            rate_mbps: args.sim_rate,
            fault,
        })
    };
    let mut options = DaemonOptions::new(tasks_dir, state_dir);
    options.simulate = simulate;
    options.stall_timeout = std::time::Duration::from_secs(args.stall_timeout);
    options.ws_port = Some(args.ws_port);
    Ok(options)
}
