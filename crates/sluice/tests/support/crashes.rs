//! SIGKILLs of a running server at random points, each followed by a restart on the same data
//! dir: what the crash-safety tests put a processor through.

use std::path::Path;
use std::time::Duration;

use super::{Client, Server};

/// A small pseudo-random sequence (xorshift), seeded from the clock and printed, so a failing
/// run can be replayed by fixing the seed.
pub struct Rng(pub u64);

impl Rng {
    /// Seeded from the clock; the seed is printed.
    pub fn from_clock() -> Rng {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
        eprintln!("crash points seeded with {}", seed);
        Rng(seed)
    }

    /// A number of milliseconds in `lo..hi`.
    pub fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo)
    }
}

/// Kills `server` with SIGKILL `times` times, each after `lo_ms..hi_ms` of running, and starts it
/// again on `dir`; checks that the processor at `processor` is STARTED after each restart. The
/// last server, and a client of it.
pub async fn crash_and_restart(
    mut server: Server,
    dir: &Path,
    mut c: Client,
    processor: &str,
    times: usize,
    (lo_ms, hi_ms): (u64, u64),
) -> (Server, Client) {
    let mut rng = Rng::from_clock();
    for _ in 0..times {
        tokio::time::sleep(Duration::from_millis(rng.next_ms(lo_ms, hi_ms))).await;
        server.crash();
        server = Server::start(dir);
        c = Client { base: format!("http://{}", server.addr), ..c };
        let b = c.get(processor).await.body;
        assert_eq!(b["state"], "STARTED", "back after the crash: {:?}", b);
    }
    (server, c)
}
