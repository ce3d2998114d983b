//! `amphigory generate …` (hidden): shell completions and man pages made from the clap
//! definitions, for the packages (`packaging/`) to install.
//!
//! `generate completions bash|zsh|fish` and `generate man` print one file on stdout (what
//! Homebrew's formula asks for); `generate all DIR` writes every file, as committed under
//! `packaging/generated/` for the Debian package. `generate info-plist` and `generate icns
//! FILE` make the parts of `Amphigory.app` (`packaging/macos/bundle.sh`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Subcommand};
use clap_complete::{Generator as _, Shell};

/// The shells completions are made for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// `amphigory generate …`.
#[derive(Debug, Clone, Subcommand)]
pub enum GenerateCommand {
    /// Completions for one shell, on stdout.
    Completions {
        /// bash, zsh or fish (elvish and powershell too).
        shell: Shell,
    },
    /// The man page amphigory(1), on stdout.
    Man,
    /// The `Info.plist` of Amphigory.app, on stdout (version from this binary).
    InfoPlist,
    /// The app icon (the tray's disc) as an Apple .icns file.
    Icns {
        /// Where to write it.
        file: PathBuf,
    },
    /// Every completion file and man page, into DIR/completions and DIR/man.
    All {
        /// Where to write.
        dir: PathBuf,
    },
}

/// Runs the command.
pub fn run(command: &GenerateCommand) -> ExitCode {
    let result = match command {
        GenerateCommand::Completions { shell } => {
            let mut out = Vec::new();
            completions(*shell, &mut out);
            std::io::stdout().write_all(&out)
        }
        GenerateCommand::Man => {
            man_page(&super::Cli::command()).and_then(|page| std::io::stdout().write_all(&page))
        }
        GenerateCommand::InfoPlist => {
            crate::service::bundle::info_plist_xml(env!("CARGO_PKG_VERSION"))
                .map_err(std::io::Error::other)
                .and_then(|xml| std::io::stdout().write_all(&xml))
        }
        GenerateCommand::Icns { file } => write_icns(file),
        GenerateCommand::All { dir } => write_all(dir).map(|written| {
            for path in written {
                println!("{}", path.display());
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("amphigory generate: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
fn write_icns(file: &Path) -> std::io::Result<()> {
    let icns = crate::tray::app_icon::icns().map_err(std::io::Error::other)?;
    std::fs::write(file, icns)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn write_icns(_file: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "icons are drawn on Linux and macOS only",
    ))
}

/// The completion script of `shell`.
pub fn completions(shell: Shell, out: &mut Vec<u8>) {
    clap_complete::generate(shell, &mut super::Cli::command(), "amphigory", out);
}

/// The roff man page of `command`.
fn man_page(command: &clap::Command) -> std::io::Result<Vec<u8>> {
    render(clap_mangen::Man::new(command.clone()))
}

fn render(man: clap_mangen::Man) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    man.render(&mut out)?;
    Ok(out)
}

/// The file name a shell looks for: `amphigory.bash`, `_amphigory`, `amphigory.fish`.
pub fn completion_file_name(shell: Shell) -> String {
    shell.file_name("amphigory")
}

/// Writes completions for [`SHELLS`] and the man pages (`amphigory.1`, and
/// `amphigory-<command>.1` for each visible command) below `dir`; returns the paths.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let completions_dir = dir.join("completions");
    std::fs::create_dir_all(&completions_dir)?;
    for shell in SHELLS {
        let mut out = Vec::new();
        completions(shell, &mut out);
        let path = completions_dir.join(completion_file_name(shell));
        std::fs::write(&path, out)?;
        written.push(path);
    }
    let man_dir = dir.join("man");
    std::fs::create_dir_all(&man_dir)?;
    let mut root = super::Cli::command();
    root.build();
    let path = man_dir.join("amphigory.1");
    std::fs::write(&path, man_page(&root)?)?;
    written.push(path);
    for sub in root
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("amphigory-{}", sub.get_name());
        let page = render(clap_mangen::Man::new(sub.clone()).title(name.clone()))?;
        let path = man_dir.join(format!("{name}.1"));
        std::fs::write(&path, page)?;
        written.push(path);
    }
    Ok(written)
}
