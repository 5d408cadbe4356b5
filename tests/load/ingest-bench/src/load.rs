//! The closed-loop load both gRPC runs share: `concurrency` workers over a few shared
//! HTTP/2 connections take request numbers until `n` are done, each timing its calls.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use tonic::transport::Channel;

/// A few HTTP/2 connections to `url`, shared by the workers.
pub async fn channels(url: &str) -> anyhow::Result<Vec<Channel>> {
    let mut out = Vec::new();
    for _ in 0..4 {
        out.push(
            tonic::transport::Endpoint::from_shared(url.to_string())?
                .tcp_nodelay(true)
                .connect()
                .await?,
        );
    }
    Ok(out)
}

/// Runs `call(channel, i)` for i in 0..n at `concurrency`: the latencies (ms) of the
/// calls that succeeded and the number that failed (the first three printed).
pub async fn drive<F, Fut>(
    channels: &[Channel],
    concurrency: usize,
    n: usize,
    what: &'static str,
    call: F,
) -> anyhow::Result<(Vec<f64>, usize)>
where
    F: Fn(Channel, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (next, call, channel) = (
            next.clone(),
            call.clone(),
            channels[w % channels.len()].clone(),
        );
        workers.spawn(async move {
            let (mut lat, mut failed) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                match call(channel.clone(), i).await {
                    Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    Err(e) => {
                        failed += 1;
                        if failed <= 3 {
                            eprintln!("{what} failed: {e:?}");
                        }
                    }
                }
            }
            (lat, failed)
        });
    }
    let (mut lat, mut failed) = (Vec::new(), 0);
    while let Some(r) = workers.join_next().await {
        let (l, f) = r?;
        lat.extend(l);
        failed += f;
    }
    Ok((lat, failed))
}
