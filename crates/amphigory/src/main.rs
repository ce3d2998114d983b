//! The `amphigory` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    amphigory::cli::main()
}
