//! `fixer`: the native end of rdpfix.
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "fixer",
    version,
    about = "Diagnose and repair RDP failures on a Windows VM"
)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
