//! The `sla` binary: `sla [serve|migrate|healthcheck [url]]`.

fn main() -> std::process::ExitCode {
    kit::server::main(sla::SPEC, sla::setup)
}

/// mimalloc rather than glibc's malloc: a call allocates tonic's 8 KiB codec buffers, and
/// glibc consolidated its fast bins on each (a fifth of the service's CPU was malloc and
/// free). It cut the service's CPU per ScheduleTimer call by ~6% (16.7-17.3 to 15.5-16.2
/// us) with firing lateness unchanged. (In the load generator, which times the firings,
/// it made the measured lateness tail worse, so it is not used there.)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
