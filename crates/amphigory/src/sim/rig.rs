//! [`SimRig`]: the daemon's and the tests' handle on a set of simulated drives.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use super::SIM_DIR_ENV;
use super::state::{self, Fault, SimDriveState};
use super::transcript::{Disc, builtin_disc};
use crate::core::DiscInfo;
use crate::makemkv::runner::{MakemkvconCommand, RunnerConfig};

/// Simulated drives `/dev/sim0…` in a sim directory, and the command that runs the
/// simulated makemkvcon against them.
///
/// The daemon (`--simulate`) creates one with [`SimRig::create_temp`], runs its
/// [`crate::makemkv::runner::Runner`] with [`SimRig::command`] and
/// [`SimRig::runner_config`] (no free-space check: simulated rips are sparse files), and
/// treats [`SimRig::drives`] as its drive detection: the state files change when a disc
/// is ejected or inserted through the rig, or leaves on its own (`eject@P`).
#[derive(Debug)]
pub struct SimRig {
    dir: PathBuf,
    executable: PathBuf,
    devices: Vec<String>,
    _temp: Option<tempfile::TempDir>,
}

/// A simulated drive as the daemon's detection sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimDrive {
    /// Slot, the `N` of `disc:N` and `/dev/simN`.
    pub index: u32,
    /// Its stored state.
    pub state: SimDriveState,
    /// Volume name of the disc in the drive, when one is present.
    pub volume_name: Option<String>,
}

impl SimDrive {
    /// The disc in the drive as disc detection reports it, fingerprint included (SPEC
    /// §9.4: a simulated disc's comes from its transcript); `None` when the drive is empty.
    pub fn disc_info(&self) -> io::Result<Option<DiscInfo>> {
        let (Some(spec), true) = (&self.state.disc, self.state.present) else {
            return Ok(None);
        };
        let disc = Disc::load(spec)?;
        Ok(Some(DiscInfo {
            device: self.state.device.clone(),
            volume_name: disc.volume_name().map(str::to_owned),
            medium: Some(disc.medium()),
            fingerprint: Some(disc.fingerprint()),
        }))
    }
}

impl SimRig {
    /// One drive per disc in `dir` (created if missing), each with `rate_mbps` and
    /// `fault` (which fires once per drive). A disc is a built-in name or a transcript
    /// path; unknown discs are an error here rather than in the middle of a run.
    pub fn create(
        dir: &Path,
        discs: &[String],
        rate_mbps: f64,
        fault: Option<Fault>,
    ) -> io::Result<Self> {
        if !(rate_mbps.is_finite() && rate_mbps > 0.0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("simulated read rate must be positive, not {rate_mbps}"),
            ));
        }
        std::fs::create_dir_all(dir)?;
        let mut devices = Vec::new();
        for (index, disc) in (0u32..).zip(discs) {
            let state = SimDriveState {
                device: format!("/dev/sim{index}"),
                disc: Some(resolve_disc(disc)?),
                present: true,
                rate_mbps,
                fault,
            };
            state::write_state(dir, index, &state)?;
            devices.push(state.device);
        }
        Ok(Self {
            dir: dir.to_owned(),
            executable: std::env::current_exe()?,
            devices,
            _temp: None,
        })
    }

    /// Like [`SimRig::create`] in a fresh temporary directory, removed when the rig is
    /// dropped.
    pub fn create_temp(discs: &[String], rate_mbps: f64, fault: Option<Fault>) -> io::Result<Self> {
        let temp = tempfile::Builder::new()
            .prefix("amphigory-sim-")
            .tempdir()?;
        let mut rig = Self::create(temp.path(), discs, rate_mbps, fault)?;
        rig._temp = Some(temp);
        Ok(rig)
    }

    /// A rig over the drives already in `dir` (e.g. made by another process).
    pub fn open(dir: &Path) -> io::Result<Self> {
        let devices = state::read_all(dir)?
            .into_iter()
            .map(|(_, s)| s.device)
            .collect();
        Ok(Self {
            dir: dir.to_owned(),
            executable: std::env::current_exe()?,
            devices,
            _temp: None,
        })
    }

    /// Runs the simulator from `executable` (tests: `env!("CARGO_BIN_EXE_amphigory")`)
    /// instead of the current executable.
    pub fn with_executable(mut self, executable: impl Into<PathBuf>) -> Self {
        self.executable = executable.into();
        self
    }

    /// The sim directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `/dev/sim0`, `/dev/sim1`, … in slot order.
    pub fn devices(&self) -> Vec<String> {
        self.devices.clone()
    }

    /// makemkvcon for the runner: this binary, `__sim-makemkvcon`, and the sim directory
    /// in `AMPHIGORY_SIM_DIR`.
    pub fn command(&self) -> MakemkvconCommand {
        MakemkvconCommand {
            program: self.executable.clone(),
            leading_args: vec![OsString::from(super::SIM_MAKEMKVCON_ARG)],
            env: vec![(
                OsString::from(SIM_DIR_ENV),
                self.dir.clone().into_os_string(),
            )],
        }
    }

    /// `base` adjusted for simulated drives: no free-space check (rips are sparse
    /// files, so the demo must not need 25 GB free).
    pub fn runner_config(&self, base: RunnerConfig) -> RunnerConfig {
        RunnerConfig {
            free_space_margin: None,
            ..base
        }
    }

    /// Every drive's current state.
    pub fn drives(&self) -> io::Result<Vec<SimDrive>> {
        state::read_all(&self.dir)?
            .into_iter()
            .map(|(index, state)| {
                let volume_name = match (&state.disc, state.present) {
                    (Some(disc), true) => Disc::load(disc)?.volume_name().map(str::to_owned),
                    _ => None,
                };
                Ok(SimDrive {
                    index,
                    state,
                    volume_name,
                })
            })
            .collect()
    }

    /// Takes the disc out of `device` (a running simulated rip notices within 100 ms).
    pub fn eject(&self, device: &str) -> io::Result<()> {
        self.update(device, |s| s.present = false)
    }

    /// Puts `disc` (built-in name or transcript path) into `device`.
    pub fn insert(&self, device: &str, disc: &str) -> io::Result<()> {
        let disc = resolve_disc(disc)?;
        self.update(device, |s| {
            s.disc = Some(disc);
            s.present = true;
        })
    }

    /// Replaces `device`'s fault (it still fires at most once per sim directory).
    pub fn set_fault(&self, device: &str, fault: Option<Fault>) -> io::Result<()> {
        self.update(device, |s| s.fault = fault)
    }

    /// The `info` transcript of the disc in `device`, `None` when the drive is empty.
    pub fn transcript(&self, device: &str) -> io::Result<Option<String>> {
        let state = state::read_state(&self.dir, index_of(device)?)?;
        match (state.disc, state.present) {
            (Some(disc), true) => Ok(Some(Disc::load(&disc)?.text().to_owned())),
            _ => Ok(None),
        }
    }

    /// Pids of every simulated makemkvcon started for `device`, oldest first (tests use
    /// them to prove no child is left running).
    pub fn pids(&self, device: &str) -> Vec<u32> {
        index_of(device).map_or_else(|_| Vec::new(), |i| state::recorded_pids(&self.dir, i))
    }

    fn update(&self, device: &str, change: impl FnOnce(&mut SimDriveState)) -> io::Result<()> {
        let index = index_of(device)?;
        let mut state = state::read_state(&self.dir, index)?;
        change(&mut state);
        state::write_state(&self.dir, index, &state)
    }
}

fn index_of(device: &str) -> io::Result<u32> {
    state::device_index(device).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{device} is not a simulated drive"),
        )
    })
}

/// A built-in name as is; a transcript as an absolute path, checked now.
fn resolve_disc(disc: &str) -> io::Result<String> {
    if builtin_disc(disc).is_some() {
        return Ok(disc.to_owned());
    }
    Disc::load(disc)?;
    Ok(std::fs::canonicalize(disc)?.to_string_lossy().into_owned())
}
