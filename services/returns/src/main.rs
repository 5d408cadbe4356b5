//! The `returns` binary: `returns [serve|migrate|healthcheck [url]]`.

fn main() -> std::process::ExitCode {
    kit::server::main(returns::SPEC, returns::setup)
}
