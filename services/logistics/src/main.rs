//! The `logistics` binary: `logistics [serve|migrate|healthcheck [url]]`.

fn main() -> std::process::ExitCode {
    kit::server::main(logistics::SPEC, logistics::setup)
}
