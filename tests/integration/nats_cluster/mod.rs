//! A cluster of three nats-servers for tests: JetStream, clustered, on 127.0.0.1 with ephemeral
//! ports, their stores and logs in a temp dir; killed (SIGKILL) when dropped. Needs Debian's
//! `nats-server` (scripts/bootstrap.sh installs it); without it, a test fails saying so.
//!
//! `Cluster::start` returns once every server accepts clients and JetStream's meta group has
//! three peers and a leader (bounded); a server that exits or a cluster that does not form fails
//! the test with the tail of every server's log.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `n` distinct free ports: every listener is held until all are chosen, so the set has no
/// duplicates (each is released just before the servers start).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("bound").port())
        .collect()
}

/// One nats-server of the cluster.
pub struct NatsServer {
    name: String,
    port: u16,
    cluster_port: u16,
    monitor_port: u16,
    store: PathBuf,
    log: PathBuf,
    /// Client authentication: (user, password).
    user: Option<(String, String)>,
    child: Option<Child>,
}

impl NatsServer {
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn start(&mut self, routes: &str) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let child = Command::new("nats-server")
            .args(["-n", &self.name, "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-m")
            .arg(self.monitor_port.to_string())
            .args(["-js", "-sd"])
            .arg(&self.store)
            .args(["--cluster_name", "gdpr-ledger-test", "--cluster"])
            .arg(format!("nats://127.0.0.1:{}", self.cluster_port))
            .args(["--routes", routes])
            .args(
                self.user
                    .iter()
                    .flat_map(|(user, pass)| ["--user", user, "--pass", pass]),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("nats-server cannot be run ({e}): run scripts/bootstrap.sh, which installs Debian's nats-server")
            });
        self.child = Some(child);
    }

    /// Whether the process has exited (it failed to start, or was killed).
    fn exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// The body of `GET path` on the monitoring port, if the server answers.
    fn monitor(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.monitor_port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
    }

    /// JetStream's meta group as this server sees it: (known peers, leader).
    fn meta_group(&self) -> Option<(usize, String)> {
        let body = self.monitor("/jsz")?;
        let jsz: serde_json::Value = serde_json::from_str(&body).ok()?;
        let meta = jsz.get("meta_cluster")?;
        let size = meta.get("cluster_size")?.as_u64()? as usize;
        let leader = meta.get("leader")?.as_str()?.to_owned();
        Some((size, leader))
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Why the cluster is not ready, with the servers' log tails.
enum Failure {
    Exited(String),
    NotFormed(String),
}

pub struct Cluster {
    pub servers: Vec<NatsServer>,
    routes: String,
    dir: tempfile::TempDir,
}

impl Cluster {
    pub fn start() -> Self {
        Self::start_with_user(None)
    }

    /// Three servers whose clients must authenticate as `user` (user, password), when given.
    pub fn start_with_user(user: Option<(&str, &str)>) -> Self {
        // A port taken by another process between choosing and binding makes a server exit:
        // start again on fresh ports (bounded).
        let mut why = String::new();
        for _ in 0..3 {
            let mut cluster = Self::spawn(user);
            match cluster.wait_formed(&[0, 1, 2]) {
                Ok(()) => return cluster,
                Err(Failure::Exited(log)) => why = log,
                Err(Failure::NotFormed(log)) => {
                    panic!("the NATS cluster did not form within 90 s\n{log}")
                }
            }
        }
        panic!("a nats-server exited while starting, three times\n{why}")
    }

    fn spawn(user: Option<(&str, &str)>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports = free_ports(9);
        let mut servers: Vec<NatsServer> = (0..3)
            .map(|i| NatsServer {
                name: format!("n{i}"),
                port: ports[3 * i],
                cluster_port: ports[3 * i + 1],
                monitor_port: ports[3 * i + 2],
                store: dir.path().join(format!("n{i}")),
                log: dir.path().join(format!("n{i}.log")),
                user: user.map(|(u, p)| (u.to_owned(), p.to_owned())),
                child: None,
            })
            .collect();
        let routes = servers
            .iter()
            .map(|s| format!("nats://127.0.0.1:{}", s.cluster_port))
            .collect::<Vec<_>>()
            .join(",");
        for server in &mut servers {
            server.start(&routes);
        }
        Self {
            servers,
            routes,
            dir,
        }
    }

    /// Starts server `i` again (same ports and store) and waits until the running servers see
    /// a JetStream leader again.
    pub fn restart(&mut self, i: usize) {
        let routes = self.routes.clone();
        self.servers[i].start(&routes);
        let running: Vec<usize> = (0..self.servers.len())
            .filter(|&n| self.servers[n].child.is_some())
            .collect();
        match self.wait_formed(&running) {
            Ok(()) => {}
            Err(Failure::Exited(log)) => panic!("a nats-server exited while restarting\n{log}"),
            Err(Failure::NotFormed(log)) => {
                panic!("the NATS cluster did not form again within 90 s\n{log}")
            }
        }
    }

    /// Waits (at most 90 s) until each of `running` is up and sees a meta group of three peers
    /// with a leader; otherwise says why, with every log's tail.
    fn wait_formed(&mut self, running: &[usize]) -> Result<(), Failure> {
        let started = Instant::now();
        loop {
            for &i in running {
                if self.servers[i].exited() {
                    return Err(Failure::Exited(self.log_tails()));
                }
            }
            let formed = running.iter().all(|&i| {
                matches!(self.servers[i].meta_group(),
                         Some((size, leader)) if size == self.servers.len() && !leader.is_empty())
            });
            if formed {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(90) {
                return Err(Failure::NotFormed(self.log_tails()));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last lines of every server's log, for a failing test's message.
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for server in &self.servers {
            let log = std::fs::read_to_string(&server.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            out.push_str(&format!(
                "--- {} (client {}, cluster {}) ---\n{}\n",
                server.name,
                server.port,
                server.cluster_port,
                tail.join("\n")
            ));
        }
        out
    }
}

impl Cluster {
    /// Every server's URL, comma-separated.
    pub fn urls(&self) -> String {
        self.servers
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The position of the server that leads the (only) stream's raft group, as the running
    /// servers' monitoring ports say (`/jsz?streams=true`), if one does.
    pub fn stream_leader(&self) -> Option<usize> {
        self.servers.iter().find_map(|server| {
            let body = server.monitor("/jsz?streams=true")?;
            let jsz: serde_json::Value = serde_json::from_str(&body).ok()?;
            let leader = jsz
                .get("account_details")?
                .as_array()?
                .iter()
                .filter_map(|account| account.get("stream_detail")?.as_array())
                .flatten()
                .find_map(|stream| stream.get("cluster")?.get("leader")?.as_str())?
                .to_owned();
            self.servers.iter().position(|s| s.name == leader)
        })
    }

    /// The dirs that hold the servers' stores and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
