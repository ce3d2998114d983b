//! `amphigory doctor [--json]`: checks the configuration (and says where every value came
//! from), makemkvcon and its version, the queue directory, the webapp and its link, and the
//! free space where rips go; every problem comes with what to do about it. Exit 0 when
//! healthy, 1 when there is a problem.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

use crate::config::http::HttpUrl;
use crate::config::makemkvcon::{self, VERSION_TIMEOUT};
use crate::config::{self, CacheState, ConfigError, LoadRequest, Loaded, Settings, WebappState};

/// Below this much free space where rips go, a Blu-ray rip may not fit.
const LOW_SPACE_BYTES: u64 = 50 * 1_000_000_000;
/// How long the WebSocket probe of the webapp may take.
const LINK_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Options of `amphigory doctor`.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// The daemon.yaml to check (default ~/.config/amphigory/daemon.yaml).
    #[arg(long, env = "AMPHIGORY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// State directory (cached config).
    #[arg(long, env = "AMPHIGORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Queue directory, as `amphigory daemon --tasks-dir` would use it.
    #[arg(long)]
    pub tasks_dir: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    fn problem(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The whole report (`--json` prints it as is).
#[derive(Debug, Serialize)]
struct Report {
    healthy: bool,
    config_file: Option<String>,
    config: Option<config::EffectiveConfig>,
    webapp: Option<WebappState>,
    cache: Option<CacheState>,
    checks: Vec<Check>,
}

/// Runs the command.
pub fn run(args: &DoctorArgs) -> ExitCode {
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("amphigory doctor: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(examine(args));
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("amphigory doctor: {e}"),
        }
    } else {
        print_text(&report);
    }
    if report.healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn examine(args: &DoctorArgs) -> Report {
    let loaded = load(args).await;
    let mut checks = Vec::new();
    let (config_file, loaded) = match loaded {
        Ok(loaded) => (
            loaded
                .file_path
                .as_ref()
                .map(|(p, found)| describe_file(p, *found)),
            Some(loaded),
        ),
        Err(e) => {
            checks.push(Check::problem(
                "configuration",
                e.to_string(),
                "correct the file or variable named above",
            ));
            (args.config.as_ref().map(|p| p.display().to_string()), None)
        }
    };
    if let Some(loaded) = &loaded {
        checks.extend(loaded.warnings.iter().map(|w| {
            Check::problem(
                "configuration",
                w.clone(),
                "remove or correct these keys in daemon.yaml",
            )
        }));
        checks.extend(config_checks(loaded));
        checks.extend(webapp_checks(loaded).await);
    }
    let configured = loaded
        .as_ref()
        .and_then(|l| l.effective.makemkvcon_path.value.clone());
    checks.extend(makemkvcon_checks(configured.as_deref()).await);
    if let Some(loaded) = &loaded {
        // In the "needs config" state the queue is a stand-in the daemon creates itself.
        if loaded.effective.needs_config.is_none() {
            checks.push(tasks_dir_check(&loaded.effective.tasks_dir.value));
            checks.extend(queued_space_checks(&loaded.effective.tasks_dir.value));
        }
        checks.push(free_space_check(
            loaded.effective.ripped_directory.value.as_deref(),
        ));
        checks.extend(hook_checks(loaded.file.hooks.as_ref()));
    }
    Report {
        healthy: checks.iter().all(|c| c.ok),
        config_file,
        webapp: loaded.as_ref().map(|l| l.webapp.clone()),
        cache: loaded.as_ref().map(|l| l.cache.clone()),
        config: loaded.map(|l| l.effective),
        checks,
    }
}

async fn load(args: &DoctorArgs) -> Result<Loaded, ConfigError> {
    let request = LoadRequest {
        config_file: args.config.clone(),
        state_dir: args.state_dir.clone(),
        flags: Settings {
            tasks_dir: args.tasks_dir.clone(),
            ..Settings::default()
        },
        env: config::process_env()?,
        ..LoadRequest::default()
    };
    config::load(&request).await
}

fn describe_file(path: &Path, found: bool) -> String {
    if found {
        path.display().to_string()
    } else {
        format!("{} (not found: built-in defaults)", path.display())
    }
}

fn config_checks(loaded: &Loaded) -> Vec<Check> {
    match &loaded.effective.needs_config {
        Some(reason) => vec![Check::problem(
            "configuration",
            reason.clone(),
            "write webapp_url and webapp_basedir into daemon.yaml (see SPEC §3), or run the daemon with --tasks-dir",
        )],
        None => vec![Check::ok("configuration", "complete")],
    }
}

async fn webapp_checks(loaded: &Loaded) -> Vec<Check> {
    let url = loaded.effective.webapp_url.value.as_deref();
    match (&loaded.webapp, url) {
        (WebappState::NotConfigured, _) | (_, None) => vec![Check::problem(
            "webapp",
            "no webapp_url: the webapp will not see this daemon",
            "set webapp_url in daemon.yaml (e.g. http://localhost:6199)",
        )],
        (WebappState::Disabled, Some(url)) => vec![Check::ok(
            "webapp",
            format!("{url}: not contacted (no_webapp)"),
        )],
        (WebappState::Unreachable { reason }, Some(_)) => {
            let fallback = match &loaded.cache {
                CacheState::Used => "the daemon would use the cached config meanwhile",
                _ => "there is no usable cached config either",
            };
            vec![Check::problem(
                "webapp",
                format!("unreachable: {reason}; {fallback}"),
                "start the webapp, or correct webapp_url in daemon.yaml (http:// only)",
            )]
        }
        (WebappState::Fetched, Some(url)) => {
            vec![
                Check::ok("webapp", format!("{url}: config.json fetched and cached")),
                link_check(url).await,
            ]
        }
    }
}

/// Opens the link the daemon would open, then closes it.
async fn link_check(url: &str) -> Check {
    let Ok(parsed) = HttpUrl::parse(url) else {
        return Check::problem(
            "webapp link",
            format!("{url} is not usable"),
            "correct webapp_url",
        );
    };
    let ws_url = parsed.ws_url("/ws");
    let probe = async {
        let mut ws = crate::servers::webapp_link::open(&parsed, LINK_PROBE_TIMEOUT).await?;
        let _ = ws.close(None).await;
        Ok::<_, crate::servers::webapp_link::LinkError>(())
    };
    match tokio::time::timeout(LINK_PROBE_TIMEOUT, probe).await {
        Ok(Ok(())) => Check::ok("webapp link", format!("{ws_url} accepts connections")),
        Ok(Err(e)) => Check::problem(
            "webapp link",
            format!("{ws_url}: {e}"),
            "check that the webapp serves /ws at that address",
        ),
        Err(_) => Check::problem(
            "webapp link",
            format!("{ws_url}: no answer within {LINK_PROBE_TIMEOUT:?}"),
            "check the webapp",
        ),
    }
}

async fn makemkvcon_checks(configured: Option<&Path>) -> Vec<Check> {
    let discovery = makemkvcon::discover(configured);
    let mut checks = Vec::new();
    if let Some(loud) = &discovery.configured_missing {
        checks.push(Check::problem(
            "makemkvcon",
            loud.clone(),
            "correct makemkvcon_path in daemon.yaml (or the webapp's makemkv_path)",
        ));
    }
    match &discovery.found {
        Some(path) => checks.push(match makemkvcon::version(path, VERSION_TIMEOUT).await {
            Ok(version) => Check::ok("makemkvcon", format!("{} ({version})", path.display())),
            Err(e) => Check::problem("makemkvcon", e.to_string(), "reinstall MakeMKV, or point makemkvcon_path at a working makemkvcon"),
        }),
        None => checks.push(Check::problem(
            "makemkvcon",
            discovery.problem().unwrap_or_default(),
            "install MakeMKV (macOS: the MakeMKV app or `brew install --cask makemkv`; Linux: makemkv-bin), or set makemkvcon_path in daemon.yaml",
        )),
    }
    checks
}

fn tasks_dir_check(dir: &Path) -> Check {
    const NAME: &str = "tasks directory";
    if !dir.is_dir() {
        return Check::problem(
            NAME,
            format!("{} does not exist", dir.display()),
            "check webapp_basedir (the host directory the container's / maps to) and the webapp's tasks_directory, or create it",
        );
    }
    match tempfile::Builder::new()
        .prefix(".amphigory-doctor.")
        .tempfile_in(dir)
    {
        Ok(_) => Check::ok(NAME, format!("{} exists and is writable", dir.display())),
        Err(e) => Check::problem(
            NAME,
            format!("{} is not writable: {e}", dir.display()),
            "give this user write access to it",
        ),
    }
}

/// Per output volume, whether the rips waiting in `queued/` fit (SPEC §11.2).
fn queued_space_checks(tasks_dir: &Path) -> Vec<Check> {
    const NAME: &str = "space for queued rips";
    let rips = match crate::queue::space::queued_rips_in(tasks_dir) {
        Ok(rips) => rips,
        // A queue that cannot be listed is the tasks-directory check's to report.
        Err(_) => return Vec::new(),
    };
    if rips.is_empty() {
        return vec![Check::ok(NAME, "no rips waiting")];
    }
    crate::queue::space::by_volume(&rips, |_| 0)
        .iter()
        .map(|v| {
            let shown = super::control_print::describe_volume(v);
            if v.fits() {
                Check::ok(NAME, shown)
            } else {
                Check::problem(
                    NAME,
                    shown,
                    "free space on that volume, or cancel some of its rips; rips that do not fit fail with OUTPUT_WRITE_FAILED before they start",
                )
            }
        })
        .collect()
}

fn free_space_check(ripped: Option<&Path>) -> Check {
    const NAME: &str = "free space";
    let Some(dir) = ripped else {
        return Check::ok(
            NAME,
            "ripped_directory unknown (the webapp did not say): not checked",
        );
    };
    match crate::fsio::free_bytes(dir) {
        Ok(free) => {
            let shown = format!("{}: {:.1} GB free", dir.display(), free as f64 / 1e9);
            if free < LOW_SPACE_BYTES {
                Check::problem(
                    NAME,
                    shown,
                    "free some space: a Blu-ray main feature alone can take 50 GB",
                )
            } else {
                Check::ok(NAME, shown)
            }
        }
        Err(e) => Check::problem(
            NAME,
            format!("{}: {e}", dir.display()),
            "check the webapp's ripped_directory (a host path)",
        ),
    }
}

/// Each configured hook (SPEC §11.1), and whether its command exists and is executable.
fn hook_checks(hooks: Option<&std::collections::BTreeMap<String, Vec<String>>>) -> Vec<Check> {
    const NAME: &str = "hook";
    // Names were checked when daemon.yaml was read (a bad one fails the configuration).
    let hooks = hooks
        .and_then(|h| config::hooks::typed(h).ok())
        .unwrap_or_default();
    hooks
        .iter()
        .map(|(event, argv)| {
            let program = argv.first().map(String::as_str).unwrap_or_default();
            let shown = format!("{}: {}", event.key(), argv.join(" "));
            match crate::hooks::find_program(program) {
                Some(path) => {
                    Check::ok(NAME, format!("{shown} ({} is executable)", path.display()))
                }
                None => Check::problem(
                    NAME,
                    format!("{shown}: {program} is not an executable file (nor found on PATH)"),
                    "give the hook's absolute path, and make it executable (chmod +x)",
                ),
            }
        })
        .collect()
}

fn print_text(report: &Report) {
    println!("amphigory doctor");
    if let Some(file) = &report.config_file {
        println!("\nConfiguration file: {file}");
    }
    if let Some(config) = &report.config {
        println!("\nEffective configuration (value, then where it came from):");
        for (name, value, source) in config.entries() {
            println!("  {name:<20} {value:<44} {source}");
        }
        for (key, value) in &config.extra {
            let value = value.to_string();
            println!("  {key:<20} {value:<44} webapp (not read by the daemon)");
        }
    }
    println!("\nChecks:");
    for check in &report.checks {
        let mark = if check.ok { "ok  " } else { "FAIL" };
        println!("  [{mark}] {:<16} {}", check.name, check.detail);
        if let Some(fix) = &check.fix {
            println!("         {:<16} fix: {fix}", "");
        }
    }
    let problems = report.checks.iter().filter(|c| !c.ok).count();
    if problems == 0 {
        println!("\nHealthy.");
    } else {
        println!(
            "\n{problems} problem{} found.",
            if problems == 1 { "" } else { "s" }
        );
    }
}
