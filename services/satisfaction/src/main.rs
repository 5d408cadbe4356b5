//! The `satisfaction` binary: `satisfaction [serve|migrate|healthcheck [url]]`.

fn main() -> std::process::ExitCode {
    kit::server::main(satisfaction::SPEC, satisfaction::setup)
}
