//! A `sluice serve` child process for the benchmarks that measure the server from outside:
//! started on a fresh data dir (or again on the one it left), killed and its data dir removed
//! when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A running `sluice serve` child.
pub struct ServerChild {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The project made on the first start.
    pub group: String,
    /// The Project Owner key made on the first start (empty on later starts).
    pub public: String,
    /// Its private key.
    pub private: String,
    /// The data dir.
    pub dir: PathBuf,
    /// Whether the server runs on one core.
    pub pinned: bool,
    /// What the server has written to stderr so far, line by line.
    pub stderr: Arc<Mutex<Vec<String>>>,
    /// Remove the data dir when dropped.
    remove_dir: bool,
    /// What it was started with beyond the data dir, for a restart.
    extra: Vec<String>,
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl ServerChild {
    /// Starts a server on an empty `dir`, on core 0 alone when `pin` and `taskset` is there.
    pub fn start(dir: PathBuf, pin: bool) -> Result<ServerChild, String> {
        let _ = std::fs::remove_dir_all(&dir);
        ServerChild::spawn(dir, pin, Vec::new())
    }

    /// Starts a server on an empty `dir` with these further arguments (a node of several:
    /// `--store`, `--node-id`, `--checkpoint-store`).
    pub fn start_with(dir: PathBuf, extra: Vec<String>) -> Result<ServerChild, String> {
        let _ = std::fs::remove_dir_all(&dir);
        ServerChild::spawn(dir, false, extra)
    }

    /// Sends the server a signal (`TERM`, `KILL`, ...).
    pub fn signal(&self, name: &str) -> Result<(), String> {
        let pid = self.child.id().to_string();
        Command::new("kill").args([&format!("-{}", name), &pid]).status().map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Stops this server with SIGTERM (its processors stay STARTED in the store) and starts a
    /// new one on the same data dir; the key of the first start is kept.
    pub fn restart(mut self) -> Result<ServerChild, String> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().map_err(|e| e.to_string())?;
        self.child.wait().map_err(|e| e.to_string())?;
        self.remove_dir = false;
        let mut next = ServerChild::spawn(self.dir.clone(), self.pinned, std::mem::take(&mut self.extra))?;
        next.group = std::mem::take(&mut self.group);
        next.public = std::mem::take(&mut self.public);
        next.private = std::mem::take(&mut self.private);
        Ok(next)
    }

    /// The first stderr line that contains `needle`, if the server has written one.
    pub fn stderr_line(&self, needle: &str) -> Option<String> {
        self.stderr.lock().ok()?.iter().find(|l| l.contains(needle)).cloned()
    }

    fn spawn(dir: PathBuf, pin: bool, extra: Vec<String>) -> Result<ServerChild, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let pinned = pin && Command::new("taskset").arg("--version").output().is_ok_and(|o| o.status.success());
        let mut cmd = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0", "--rate-limit", "0", "--data-dir"])
            .arg(&dir)
            .args(&extra)
            .env("SLUICE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start sluice serve: {}", e))?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (err_pipe, seen) = (child.stderr.take().ok_or("no stderr")?, stderr.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                if let Ok(mut v) = seen.lock() {
                    v.push(line);
                }
            }
        });
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let (mut group, mut public, mut private) = (String::new(), String::new(), String::new());
        let base = loop {
            let line = lines.next().ok_or("the server exited before listening")?.map_err(|e| e.to_string())?;
            if let Some(v) = line.strip_prefix("groupId: ") {
                group = v.to_string();
            } else if let Some(v) = line.strip_prefix("publicKey: ") {
                public = v.to_string();
            } else if let Some(v) = line.strip_prefix("privateKey: ") {
                private = v.to_string();
            } else if let Some(a) = line.strip_prefix("listening on ") {
                break format!("http://{}", a);
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(ServerChild { child, base, group, public, private, dir, pinned, stderr, remove_dir: true, extra })
    }
}
