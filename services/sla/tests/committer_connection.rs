//! Its own test binary: it asks which Postgres backends ran this process's `COPY`s, and
//! sibling tests' replicas in the same process would run theirs on other backends.
//!
//! While ScheduleTimer calls keep coming, a replica's group commits all go to one Postgres
//! backend: the committer keeps its connection. (Taking one from the pool per group, the
//! previous one's release trailed the next acquire: the pool opened more connections and
//! the groups rotated over two or three backends per replica, each with its own cold
//! caches and one more process to wake.)
//!
//! The only test of this file: it tells this process's connections from others' by the
//! local ports of the sockets it holds.

#[path = "harness.rs"]
mod harness;

use std::{collections::HashSet, time::Duration};

use harness::Harness;

/// Inodes of the sockets this process holds open.
fn socket_inodes() -> HashSet<u64> {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_str()?;
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// Local TCP ports of this process's sockets (Postgres' `client_port` of its connections).
fn local_ports() -> Vec<i32> {
    let inodes = socket_inodes();
    let mut ports = Vec::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st queues tr retrnsmt uid timeout inode ...
            let (Some(local), Some(inode)) = (f.get(1), f.get(9)) else {
                continue;
            };
            let port = local
                .rsplit(':')
                .next()
                .and_then(|p| i32::from_str_radix(p, 16).ok());
            if let (Some(port), Ok(inode)) = (port, inode.parse::<u64>())
                && inodes.contains(&inode)
            {
                ports.push(port);
            }
        }
    }
    ports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commits_under_load_go_to_one_backend() {
    let h = Harness::new().await;
    let replica = h.replica().await;
    let c = h.client(&replica);
    // Waves of concurrent calls, back to back: each wave makes several groups.
    for wave in 0..15 {
        let calls = (0..100).map(|i| {
            let (mut c, h) = (c.clone(), &h);
            async move {
                h.schedule_after(
                    &mut c,
                    &format!("returns/cc-{wave}-{i}"),
                    "review",
                    Duration::from_secs(3600),
                )
                .await
            }
        });
        let timers = futures::future::join_all(calls).await;
        assert_eq!(timers.len(), 100);
    }
    let ports = local_ports();
    assert!(!ports.is_empty(), "found this process's sockets");
    let pool = testkit::pool().await;
    let copying: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity
          WHERE client_port = ANY($1) AND query LIKE 'COPY timers%'",
    )
    .bind(&ports)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        copying.len(),
        1,
        "backends that ran this replica's group commits: {copying:?}"
    );
    replica.stop().await;
}
