//! The `refunds` binary: `refunds [serve|migrate|healthcheck [url]]`.

fn main() -> std::process::ExitCode {
    kit::server::main(refunds::SPEC, refunds::setup)
}
