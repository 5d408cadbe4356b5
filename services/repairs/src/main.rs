//! The `repairs` binary: `repairs [serve|migrate|healthcheck [url]]`.

fn main() -> std::process::ExitCode {
    kit::server::main(repairs::SPEC, repairs::setup)
}
