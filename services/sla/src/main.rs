//! The `sla` binary: `sla [serve|migrate|healthcheck [url]]`.

fn main() -> std::process::ExitCode {
    kit::server::main(sla::SPEC, sla::setup)
}
