//! The `platform-sandbox` binary: `platform-sandbox [serve|healthcheck [url]]`, plus
//! `platform-sandbox token --role <role> --sub <id> [--carrier <code>] [--ttl <secs>]` which
//! prints a dev JWT signed with `AUTH_JWT_SECRET`, for calling the services by hand.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("token") {
        return match platform_sandbox::token_command(&args[1..]) {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("platform-sandbox token: {e}");
                ExitCode::from(2)
            }
        };
    }
    kit::server::main(platform_sandbox::SPEC, platform_sandbox::setup)
}
