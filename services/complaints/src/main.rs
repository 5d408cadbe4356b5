//! The `complaints` binary: `complaints [serve|migrate|healthcheck [url]]`.

fn main() -> std::process::ExitCode {
    kit::server::main(complaints::SPEC, complaints::setup)
}
