//! `hazard-ledger`: see `hazard-ledger --help`.

fn main() -> std::process::ExitCode {
    hazard_ledger::cli::main()
}
