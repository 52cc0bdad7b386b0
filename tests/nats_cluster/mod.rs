//! A cluster of three nats-servers for tests: JetStream, clustered, on 127.0.0.1 with ephemeral
//! ports, their stores and logs in a temp dir; killed (SIGKILL) when dropped. Needs Debian's
//! `nats-server` (scripts/bootstrap.sh installs it); without it, a test fails saying so.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One nats-server of the cluster.
pub struct NatsServer {
    name: String,
    port: u16,
    cluster_port: u16,
    store: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn start(&mut self, routes: &str, log: &Path) {
        let log = std::fs::File::create(log.join(format!("{}.log", self.name))).expect("log");
        let child = Command::new("nats-server")
            .args(["-n", &self.name, "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args(["-js", "-sd"])
            .arg(&self.store)
            .args(["--cluster_name", "gdpr-ledger-test", "--cluster"])
            .arg(format!("nats://127.0.0.1:{}", self.cluster_port))
            .args(["--routes", routes])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("nats-server cannot be run ({e}): run scripts/bootstrap.sh, which installs Debian's nats-server")
            });
        self.child = Some(child);
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

pub struct Cluster {
    pub servers: Vec<NatsServer>,
    routes: String,
    dir: tempfile::TempDir,
}

impl Cluster {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut servers: Vec<NatsServer> = (0..3)
            .map(|i| NatsServer {
                name: format!("n{i}"),
                port: free_port(),
                cluster_port: free_port(),
                store: dir.path().join(format!("n{i}")),
                child: None,
            })
            .collect();
        let routes = servers
            .iter()
            .map(|s| format!("nats://127.0.0.1:{}", s.cluster_port))
            .collect::<Vec<_>>()
            .join(",");
        for server in &mut servers {
            server.start(&routes, dir.path());
        }
        Self {
            servers,
            routes,
            dir,
        }
    }

    pub fn restart(&mut self, i: usize) {
        let (routes, dir) = (self.routes.clone(), self.dir.path().to_owned());
        self.servers[i].start(&routes, &dir);
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

    /// The dirs that hold the servers' stores and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
