//! The deployment files under `deploy/`, read with real parsers (YAML, TOML, JSON, the server's own
//! configuration loader, `systemd-analyze`) and checked against each other and against the server:
//! ports, paths, the user, the secret files, probes, sandboxing.
// figment::Jail's closure returns figment::Error, as its API requires.
#![allow(clippy::result_large_err)]

use crate::common;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use gdpr_ledger::config::{Config, LogFormat, MetricsListen};
use gdpr_ledger::proto::v1::ledger_server::SERVICE_NAME as LEDGER_SERVICE;
use gdpr_ledger::secrets;
use yaml_rust2::{Yaml, YamlLoader};

const CONTAINER_CONFIG: &str = "deploy/docker/config.toml";
const SYSTEMD_CONFIG: &str = "deploy/systemd/config.toml";
const SYSTEMD_UNIT: &str = "deploy/systemd/gdpr-ledger.service";
/// The variable that sets the metrics listener (config key `metrics_listen`).
const METRICS_ENV: &str = "GDPR_LEDGER_METRICS_LISTEN";

fn read(relative: &str) -> String {
    let path = common::repository_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// YAML

fn yaml_documents(relative: &str) -> Vec<Yaml> {
    let documents = YamlLoader::load_from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}"));
    assert!(!documents.is_empty(), "{relative} holds no YAML document");
    documents
}

fn yaml_document(relative: &str) -> Yaml {
    let mut documents = yaml_documents(relative);
    assert_eq!(
        documents.len(),
        1,
        "{relative} should hold one YAML document"
    );
    documents.remove(0)
}

/// The value of `key` in a mapping, if any.
fn get<'a>(node: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    node.as_hash()?.get(&Yaml::String(key.to_owned()))
}

/// The node at `path` (mapping keys), or a panic naming the path.
fn at<'a>(node: &'a Yaml, path: &[&str]) -> &'a Yaml {
    let mut current = node;
    for (depth, key) in path.iter().enumerate() {
        current =
            get(current, key).unwrap_or_else(|| panic!("no {:?} in {node:?}", &path[..=depth]));
    }
    current
}

fn text<'a>(node: &'a Yaml, path: &[&str]) -> &'a str {
    let value = at(node, path);
    value
        .as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string: {value:?}"))
}

fn int(node: &Yaml, path: &[&str]) -> i64 {
    let value = at(node, path);
    value
        .as_i64()
        .unwrap_or_else(|| panic!("{path:?} is not an integer: {value:?}"))
}

fn boolean(node: &Yaml, path: &[&str]) -> bool {
    let value = at(node, path);
    value
        .as_bool()
        .unwrap_or_else(|| panic!("{path:?} is not a boolean: {value:?}"))
}

fn list<'a>(node: &'a Yaml, path: &[&str]) -> &'a [Yaml] {
    let value = at(node, path);
    value
        .as_vec()
        .unwrap_or_else(|| panic!("{path:?} is not a list: {value:?}"))
}

fn strings<'a>(node: &'a Yaml, path: &[&str]) -> Vec<&'a str> {
    list(node, path)
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("{path:?} holds a non-string: {item:?}"))
        })
        .collect()
}

/// The item of a list whose `name` is `name`.
fn named<'a>(items: &'a [Yaml], name: &str) -> &'a Yaml {
    items
        .iter()
        .find(|item| get(item, "name").and_then(Yaml::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no item named {name:?} in {items:?}"))
}

/// A mapping of strings, as (key, value) pairs.
fn string_map(node: &Yaml) -> Vec<(String, String)> {
    node.as_hash()
        .unwrap_or_else(|| panic!("not a mapping: {node:?}"))
        .iter()
        .map(|(key, value)| {
            let key = key.as_str().expect("a string key").to_owned();
            let value = value
                .as_str()
                .unwrap_or_else(|| panic!("{key}: not a string (quote it): {value:?}"))
                .to_owned();
            (key, value)
        })
        .collect()
}

/// `60s`, `2m` or `90` as seconds.
fn seconds(duration: &str) -> u64 {
    let (number, unit) = match duration.find(|c: char| !c.is_ascii_digit()) {
        Some(split) => duration.split_at(split),
        None => (duration, "s"),
    };
    let number: u64 = number
        .parse()
        .unwrap_or_else(|_| panic!("not a duration: {duration:?}"));
    match unit {
        "s" => number,
        "m" | "min" => number * 60,
        _ => panic!("unknown unit in the duration {duration:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The Dockerfile

#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

#[derive(Debug)]
struct Stage {
    image: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.instructions
            .iter()
            .filter(move |i| i.keyword == keyword)
            .map(|i| i.args.as_str())
    }
}

/// Splits a Dockerfile into its global `ARG`s and its stages: comments (parser directives
/// included) dropped, continuation lines joined.
fn parse_dockerfile(text: &str) -> (Vec<Instruction>, Vec<Stage>) {
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(continued) => {
                current.push_str(continued.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                lines.push(std::mem::take(&mut current));
            }
        }
    }
    assert!(
        current.is_empty(),
        "the Dockerfile ends inside a continuation"
    );

    let mut globals = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for line in lines {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let instruction = Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_owned(),
        };
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction
                .args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_] => None,
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                _ => panic!("cannot read FROM {}", instruction.args),
            };
            stages.push(Stage {
                image: words[0].to_owned(),
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(instruction);
        } else {
            assert_eq!(
                instruction.keyword, "ARG",
                "only ARG may come before the first FROM"
            );
            globals.push(instruction);
        }
    }
    (globals, stages)
}

/// What the Dockerfile says about the image it builds.
#[derive(Debug)]
struct Image {
    uid: u32,
    gid: u32,
    exposed: BTreeSet<u16>,
    volumes: Vec<PathBuf>,
    /// The commands of the runtime stage's `RUN`s, split at `&&`, white space collapsed.
    commands: Vec<String>,
    /// The exec-form ENTRYPOINT.
    entrypoint: Vec<String>,
    /// Where the ENTRYPOINT's `--config` points.
    config_path: PathBuf,
}

fn image() -> Image {
    let text = read("deploy/docker/Dockerfile");
    let (globals, stages) = parse_dockerfile(&text);
    assert!(
        stages.len() >= 2,
        "the Dockerfile should have a build stage and a runtime stage, has {}",
        stages.len()
    );

    // The builder: the official Rust image on Debian bookworm, libclang for bindgen, a locked
    // release build, a compiler at least as new as the crate's rust-version.
    let builder = &stages[0];
    assert!(
        builder.image.starts_with("rust:") && builder.image.ends_with("-bookworm"),
        "the builder should be the official rust image on bookworm: {}",
        builder.image
    );
    let builder_name = builder.name.as_deref().expect("the build stage is named");
    assert!(
        builder.all("RUN").any(|run| run.contains("libclang-dev")),
        "the builder installs libclang-dev (the rocksdb crate's bindgen needs it)"
    );
    assert!(
        builder
            .all("RUN")
            .any(|run| run.contains("cargo build --release --locked")),
        "the builder runs cargo build --release --locked"
    );
    let rust_version = globals
        .iter()
        .find_map(|arg| arg.args.strip_prefix("RUST_VERSION="))
        .expect("a global ARG RUST_VERSION=<default>");
    assert!(builder.image.contains("${RUST_VERSION}"));
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml parses");
    let minimum = manifest["package"]["rust-version"]
        .as_str()
        .expect("rust-version");
    let version = |v: &str| -> (u32, u32) {
        let mut parts = v
            .split('.')
            .map(|p| p.parse::<u32>().expect("a version number"));
        (parts.next().expect("major"), parts.next().expect("minor"))
    };
    assert!(
        version(rust_version) >= version(minimum),
        "the builder's Rust {rust_version} is older than the crate's rust-version {minimum}"
    );

    // The runtime: small, the binary only, a non-root user.
    let runtime = stages.last().expect("a runtime stage");
    assert!(
        runtime.image == "debian:bookworm-slim"
            || runtime.image.starts_with("gcr.io/distroless/cc"),
        "the runtime image should be small: {}",
        runtime.image
    );
    assert!(
        !runtime.all("RUN").any(|run| run.contains("cargo")),
        "no build in the runtime stage"
    );
    let user = runtime
        .all("USER")
        .last()
        .expect("the runtime stage sets USER");
    let (uid, gid) = user.split_once(':').unwrap_or((user, user));
    // Numeric, so that Kubernetes' runAsNonRoot can check it without /etc/passwd.
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("USER should be a numeric uid: {user}"));
    let gid: u32 = gid
        .parse()
        .unwrap_or_else(|_| panic!("USER should name a numeric gid: {user}"));
    assert_ne!(uid, 0, "the runtime runs as root");
    assert_ne!(gid, 0, "the runtime runs with group root");

    let exposed: BTreeSet<u16> = runtime
        .all("EXPOSE")
        .flat_map(str::split_whitespace)
        .map(|port| {
            let port = port.strip_suffix("/tcp").unwrap_or(port);
            port.parse()
                .unwrap_or_else(|_| panic!("EXPOSE {port}: not a port"))
        })
        .collect();
    assert_eq!(
        exposed,
        BTreeSet::from([50051, 9464]),
        "EXPOSE gRPC and metrics"
    );

    let volumes: Vec<PathBuf> = runtime
        .all("VOLUME")
        .flat_map(|args| {
            serde_json::from_str::<Vec<String>>(args)
                .unwrap_or_else(|_| args.split_whitespace().map(str::to_owned).collect())
        })
        .map(PathBuf::from)
        .collect();

    // Exec form: the server itself is PID 1 and receives SIGTERM (no shell in between).
    let entrypoint = runtime
        .all("ENTRYPOINT")
        .last()
        .expect("the runtime stage has an ENTRYPOINT");
    let entrypoint: Vec<String> = serde_json::from_str(entrypoint)
        .unwrap_or_else(|e| panic!("ENTRYPOINT should be a JSON array (exec form): {e}"));
    let [binary, serve, flag, config_path] = entrypoint.as_slice() else {
        panic!("ENTRYPOINT should be [binary, serve, --config, path]: {entrypoint:?}");
    };
    assert_eq!((serve.as_str(), flag.as_str()), ("serve", "--config"));
    let copies: Vec<Vec<&str>> = runtime
        .all("COPY")
        .map(|args| args.split_whitespace().collect())
        .collect();
    assert!(
        copies.iter().any(|words| words.first()
            == Some(&format!("--from={builder_name}").as_str())
            && words.last() == Some(&binary.as_str())),
        "the runtime copies the binary {binary} from the {builder_name} stage"
    );
    assert!(
        copies
            .iter()
            .any(|words| words.as_slice() == [CONTAINER_CONFIG, config_path.as_str()]),
        "the runtime copies {CONTAINER_CONFIG} to the ENTRYPOINT's {config_path}"
    );
    if let Some(signal) = runtime.all("STOPSIGNAL").last() {
        assert_eq!(signal, "SIGTERM");
    }

    // The data dir and the secrets dir exist, owned by the user, closed to others. Whole commands
    // are compared: `install ... /var/lib/gdpr-ledger` is a prefix of the journal dir's.
    let commands: Vec<String> = runtime
        .all("RUN")
        .flat_map(|run| run.split("&&"))
        .map(|command| command.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let config = container_config();
    for dir in [&config.data_dir, &config.secrets_dir] {
        let install = format!("install -d -o {uid} -g {gid} -m 0700 {}", dir.display());
        assert!(
            commands.contains(&install),
            "the runtime stage should run `{install}`: {commands:?}"
        );
    }
    Image {
        uid,
        gid,
        exposed,
        volumes,
        commands,
        config_path: PathBuf::from(config_path),
        entrypoint,
    }
}

// ---------------------------------------------------------------------------------------------
// Configurations

/// Loads a configuration file with the server's loader, with exactly the environment `env`.
fn load_config(relative: &str, env: &[(String, String)]) -> Result<Config, String> {
    let path = common::repository_root().join(relative);
    let mut outcome = None;
    figment::Jail::expect_with(|jail| {
        jail.clear_env();
        for (key, value) in env {
            jail.set_env(key, value);
        }
        outcome = Some(Config::load(Some(&path)).map_err(|e| e.to_string()));
        Ok(())
    });
    outcome.expect("the jail ran")
}

fn container_config() -> Config {
    load_config(CONTAINER_CONFIG, &[])
        .unwrap_or_else(|e| panic!("{CONTAINER_CONFIG} does not load: {e}"))
}

fn systemd_config() -> Config {
    load_config(SYSTEMD_CONFIG, &[])
        .unwrap_or_else(|e| panic!("{SYSTEMD_CONFIG} does not load: {e}"))
}

/// The files the server reads from its secrets dir, all of which a deployment provides (no key
/// is created by a first start). A read-only secrets dir also needs the verifier key, which the
/// server would otherwise write there.
fn secret_files(config: &Config, read_only: bool) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = [
        secrets::LOG_KEY_FILE,
        secrets::DIRECTORY_SECRET_FILE,
        secrets::PSEUDONYM_SECRET_FILE,
        secrets::MASTER_KEY_FILE,
    ]
    .map(String::from)
    .into();
    if read_only {
        names.insert(secrets::VERIFIER_KEY_FILE.into());
    }
    for token in &config.tokens {
        if let Some(file) = &token.token_file {
            assert_eq!(
                file.parent(),
                Some(config.secrets_dir.as_path()),
                "the token file of {} should be in the secrets dir",
                token.identity
            );
            let name = file.file_name().expect("a file name").to_string_lossy();
            names.insert(name.into_owned());
        }
    }
    names
}

/// What both deployment configurations must satisfy.
fn check_deployment_config(config: &Config, what: &str) {
    assert!(
        config.data_dir.is_absolute() && config.secrets_dir.is_absolute(),
        "{what}: absolute data and secrets dirs"
    );
    assert!(
        !config.secrets_dir.starts_with(&config.data_dir)
            && !config.data_dir.starts_with(&config.secrets_dir),
        "{what}: the secrets dir and the data dir must not nest"
    );
    // A deployment has real tokens: an empty list would make the server create a development
    // admin token, and the token files are provided with the keys.
    assert!(!config.tokens.is_empty(), "{what}: no token configured");
    assert!(
        config.tokens.iter().all(|t| t.token_file.is_some()),
        "{what}: tokens come from files in the secrets dir"
    );
    assert_ne!(
        config.origin,
        Config::default().origin,
        "{what}: a deployment does not use the development origin"
    );
    // The master key is provided with the other keys and named, so that a missing file stops the
    // server instead of a fresh key being created where it would not survive a restart.
    assert_eq!(
        config.master_key_file.as_deref(),
        Some(config.secrets_dir.join(secrets::MASTER_KEY_FILE).as_path()),
        "{what}: master_key_file should name {} in the secrets dir",
        secrets::MASTER_KEY_FILE
    );
    erasure_journal(config).unwrap_or_else(|e| panic!("{what}: {e}"));
}

/// Whether one path lies inside the other (or they are the same).
fn nests(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// The deployment's erasure journal, or why it is misplaced: set explicitly (the default lies in
/// the secrets dir, which the deployments do not keep), absolute, and in a directory that nests
/// with neither the data dir (a restore replaces it) nor the secrets dir.
fn erasure_journal(config: &Config) -> Result<PathBuf, String> {
    let journal = config.erasure.journal_file.clone().ok_or_else(|| {
        format!(
            "erasure.journal_file is not set: the default, secrets_dir/{}, does not persist",
            secrets::ERASURE_JOURNAL_FILE
        )
    })?;
    if !journal.is_absolute() {
        return Err(format!(
            "erasure.journal_file {} is not absolute",
            journal.display()
        ));
    }
    let dir = journal.parent().ok_or_else(|| {
        format!(
            "erasure.journal_file {} has no directory",
            journal.display()
        )
    })?;
    for (name, other) in [
        ("data_dir", &config.data_dir),
        ("secrets_dir", &config.secrets_dir),
    ] {
        if nests(dir, other) {
            return Err(format!(
                "the erasure journal's directory {} and {name} {} nest",
                dir.display(),
                other.display()
            ));
        }
    }
    Ok(journal)
}

/// Misplaced journals for a deployment: each check of where the journal is kept must refuse them.
fn misplaced_journals(config: &Config) -> Vec<PathBuf> {
    vec![
        config.data_dir.join(secrets::ERASURE_JOURNAL_FILE),
        config.secrets_dir.join(secrets::ERASURE_JOURNAL_FILE),
        PathBuf::from("/srv/gdpr-ledger-journal").join(secrets::ERASURE_JOURNAL_FILE),
    ]
}

/// Checks `keeps` with the deployment's own journal, which must pass, and with misplaced ones,
/// which must each be refused (so that the check's approval means something).
fn check_journal_storage(what: &str, config: &Config, keeps: impl Fn(&Path) -> Result<(), String>) {
    let journal = erasure_journal(config).unwrap_or_else(|e| panic!("{what}: {e}"));
    if let Err(e) = keeps(&journal) {
        panic!("{what}: the erasure journal {}: {e}", journal.display());
    }
    for wrong in misplaced_journals(config) {
        assert!(
            keeps(&wrong).is_err(),
            "{what}: the check accepts a journal at {}",
            wrong.display()
        );
    }
}

/// Of `mounts`, the deepest that holds `path`.
fn deepest<'a, T>(mounts: &'a [T], path: &Path, at: impl Fn(&T) -> PathBuf) -> Option<&'a T> {
    mounts
        .iter()
        .filter(|m| path.starts_with(at(m)))
        .max_by_key(|m| at(m).components().count())
}

#[test]
fn every_deployment_config_provides_the_master_key_and_keeps_the_journal_apart() {
    for (what, config) in [
        (CONTAINER_CONFIG, container_config()),
        (SYSTEMD_CONFIG, systemd_config()),
    ] {
        check_deployment_config(&config, what);
        assert!(secret_files(&config, false).contains(secrets::MASTER_KEY_FILE));
        let journal = erasure_journal(&config).unwrap_or_else(|e| panic!("{what}: {e}"));
        // The check itself refuses what it must: the default, a relative path, the data dir, the
        // secrets dir.
        let mut wrong = config.clone();
        wrong.erasure.journal_file = None;
        assert!(erasure_journal(&wrong).is_err());
        for path in misplaced_journals(&config).into_iter().take(2).chain([
            PathBuf::from(secrets::ERASURE_JOURNAL_FILE),
            PathBuf::from("/").join(secrets::ERASURE_JOURNAL_FILE),
        ]) {
            wrong.erasure.journal_file = Some(path.clone());
            assert!(
                erasure_journal(&wrong).is_err(),
                "{what}: a journal at {} passes",
                path.display()
            );
        }
        // The README's restore command names this journal.
        let restore = format!("--erasure-journal {}", journal.display());
        assert!(
            read("deploy/README.md").contains(&restore),
            "deploy/README.md should restore with `{restore}`"
        );
    }
}

/// The comment lines right above `line` in a config file.
fn comment_above(text: &str, line: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let index = lines
        .iter()
        .position(|l| l.trim() == line)
        .unwrap_or_else(|| panic!("no line `{line}`"));
    lines[..index]
        .iter()
        .rev()
        .take_while(|l| l.trim_start().starts_with('#'))
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

/// Loads the container configuration with the environment a deployment sets, and checks the
/// metrics listener it asks for: the server's loader accepts the environment, and `metrics_listen`
/// comes out as set.
fn check_environment(what: &str, env: &[(String, String)]) -> SocketAddr {
    for (key, _) in env {
        assert!(
            key.starts_with(gdpr_ledger::config::ENV_PREFIX),
            "{what}: unexpected variable {key}"
        );
    }
    let metrics: SocketAddr = env
        .iter()
        .find(|(key, _)| key == METRICS_ENV)
        .unwrap_or_else(|| panic!("{what} sets {METRICS_ENV}"))
        .1
        .parse()
        .unwrap_or_else(|e| panic!("{what}: {METRICS_ENV} is not a socket address: {e}"));
    assert!(
        metrics.ip().is_unspecified(),
        "{what}: metrics must be reachable from outside the container"
    );
    let config = load_config(CONTAINER_CONFIG, env)
        .unwrap_or_else(|e| panic!("{what}: the server refuses this environment: {e}"));
    assert_eq!(
        config.metrics_listen,
        MetricsListen::Address(metrics),
        "{what}: metrics_listen as set"
    );
    let loaded = toml::Value::try_from(config).expect("the config serialises");
    assert_eq!(
        loaded.get("metrics_listen").and_then(toml::Value::as_str),
        Some(metrics.to_string().as_str()),
        "{what}: metrics_listen serialises as the address"
    );
    metrics
}

#[test]
fn the_container_config_loads_with_the_server_loader() {
    let text = read(CONTAINER_CONFIG);
    let config = container_config();
    check_deployment_config(&config, CONTAINER_CONFIG);
    assert_eq!(config.listen, "0.0.0.0:50051".parse().expect("address"));
    // Plaintext off loopback only while TLS is being added, and said so next to the key.
    assert!(config.allow_plaintext_non_loopback);
    let comment = comment_above(&text, "allow_plaintext_non_loopback = true");
    assert!(
        comment.contains("TLS"),
        "allow_plaintext_non_loopback = true needs a comment about TLS, found {comment:?}"
    );
    assert_eq!(config.log.format, LogFormat::Json);
}

#[test]
fn the_dockerfile_builds_a_small_non_root_image() {
    let image = image();
    let config = container_config();
    assert_eq!(image.uid, 10001);
    assert!(image.exposed.contains(&config.listen.port()));
    assert!(
        image.volumes.contains(&config.data_dir),
        "VOLUME {} (the data dir)",
        config.data_dir.display()
    );
    assert!(
        !image
            .volumes
            .iter()
            .any(|v| config.secrets_dir.starts_with(v)),
        "the secrets dir must not be on the data volume"
    );
    assert_eq!(
        image.config_path,
        PathBuf::from("/etc/gdpr-ledger/config.toml")
    );
    assert_eq!(image.entrypoint[0], "/usr/local/bin/gdpr-ledger");

    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect();
    for pattern in ["target", ".git", "deploy/secrets", "secrets", "data"] {
        assert!(
            ignored.iter().any(|i| i == pattern),
            ".dockerignore should exclude {pattern}"
        );
    }
}

/// Whether the image keeps `journal` on a VOLUME of its own (apart from the data and secrets
/// dirs), in a directory it creates for its user.
fn image_keeps(image: &Image, config: &Config, journal: &Path) -> Result<(), String> {
    let volume = deepest(&image.volumes, journal, PathBuf::clone)
        .ok_or_else(|| format!("on no VOLUME ({:?})", image.volumes))?;
    for (name, dir) in [
        ("data dir", &config.data_dir),
        ("secrets dir", &config.secrets_dir),
    ] {
        if nests(volume, dir) {
            return Err(format!(
                "its VOLUME {} nests with the {name} {}",
                volume.display(),
                dir.display()
            ));
        }
    }
    let dir = journal.parent().ok_or("no directory")?;
    let install = format!(
        "install -d -o {} -g {} -m 0700 {}",
        image.uid,
        image.gid,
        dir.display()
    );
    if !image.commands.contains(&install) {
        return Err(format!("the runtime stage does not run `{install}`"));
    }
    Ok(())
}

#[test]
fn the_dockerfile_keeps_the_erasure_journal_on_its_own_volume() {
    let image = image();
    let config = container_config();
    assert_eq!(image.uid, 10001);
    check_journal_storage("the Dockerfile", &config, |journal| {
        image_keeps(&image, &config, journal)
    });
}

// ---------------------------------------------------------------------------------------------
// docker compose and Prometheus

/// Whether compose mounts a named volume of its own (apart from the data and secrets dirs),
/// writable, where `journal` lies.
fn compose_keeps(compose: &Yaml, config: &Config, journal: &Path) -> Result<(), String> {
    let mounts = list(compose, &["services", "ledger", "volumes"]);
    let target = |m: &Yaml| PathBuf::from(text(m, &["target"]));
    let mount = deepest(mounts, journal, target).ok_or("on no volume of the ledger")?;
    if text(mount, &["type"]) != "volume" {
        return Err(format!(
            "on a {} mount, not a named volume",
            text(mount, &["type"])
        ));
    }
    let source = text(mount, &["source"]);
    if get(at(compose, &["volumes"]), source).is_none() {
        return Err(format!(
            "the volume {source} is not declared under volumes:"
        ));
    }
    if get(mount, "read_only").and_then(Yaml::as_bool) == Some(true) {
        return Err(format!("the volume {source} is mounted read-only"));
    }
    for (name, dir) in [
        ("data dir", &config.data_dir),
        ("secrets dir", &config.secrets_dir),
    ] {
        if nests(&target(mount), dir) {
            return Err(format!(
                "the volume {source} at {} nests with the {name} {}",
                target(mount).display(),
                dir.display()
            ));
        }
    }
    if mounts
        .iter()
        .any(|m| target(m) == config.data_dir && text(m, &["source"]) == source)
    {
        return Err(format!("the volume {source} also holds the data"));
    }
    Ok(())
}

#[test]
fn compose_keeps_the_erasure_journal_on_a_named_volume() {
    let config = container_config();
    let compose = yaml_document("deploy/docker-compose.yml");
    check_journal_storage("docker-compose.yml", &config, |journal| {
        compose_keeps(&compose, &config, journal)
    });
}

#[test]
fn compose_runs_the_image_as_built_and_configured() {
    let image = image();
    let config = container_config();
    let compose = yaml_document("deploy/docker-compose.yml");
    let services = at(&compose, &["services"]);
    let ledger = at(services, &["ledger"]);

    // Built from the repository root with the Dockerfile.
    let context = common::repository_root()
        .join("deploy")
        .join(text(ledger, &["build", "context"]));
    assert_eq!(
        context.canonicalize().expect("the build context exists"),
        common::repository_root()
            .canonicalize()
            .expect("the root exists"),
        "the build context is the repository root"
    );
    assert_eq!(
        text(ledger, &["build", "dockerfile"]),
        "deploy/docker/Dockerfile"
    );
    assert!(
        get(ledger, "user").is_none() && get(ledger, "entrypoint").is_none(),
        "compose keeps the image's user and ENTRYPOINT"
    );

    // Published ports: exactly the exposed ones, on the host's loopback (plaintext gRPC).
    let mut published = BTreeSet::new();
    for port in strings(ledger, &["ports"]) {
        let parts: Vec<&str> = port.split(':').collect();
        let [ip, host, container] = parts.as_slice() else {
            panic!("{port}: write ports as HOST_IP:HOST_PORT:CONTAINER_PORT");
        };
        let ip: IpAddr = ip.parse().expect("a host IP");
        assert!(ip.is_loopback(), "{port}: publish on loopback only");
        assert_eq!(host, container, "{port}: same port on the host");
        published.insert(container.parse::<u16>().expect("a port"));
    }
    assert_eq!(published, image.exposed);
    assert!(published.contains(&config.listen.port()));

    // The data on a named volume at the data dir.
    let volumes = list(ledger, &["volumes"]);
    let data = volumes
        .iter()
        .find(|v| Path::new(text(v, &["target"])) == config.data_dir)
        .expect("a volume at the data dir");
    assert_eq!(text(data, &["type"]), "volume");
    assert!(get(at(&compose, &["volumes"]), text(data, &["source"])).is_some());

    // The secrets: exactly the files the server reads, in its secrets dir, from files that the
    // build context leaves out.
    let mut given = BTreeSet::new();
    for secret in list(ledger, &["secrets"]) {
        let target = PathBuf::from(text(secret, &["target"]));
        assert_eq!(
            target.parent(),
            Some(config.secrets_dir.as_path()),
            "secret {} lands in the secrets dir",
            target.display()
        );
        given.insert(
            target
                .file_name()
                .expect("a file")
                .to_string_lossy()
                .into_owned(),
        );
        let source = text(secret, &["source"]);
        let file = text(at(&compose, &["secrets", source]), &["file"]);
        assert!(
            file.starts_with("./secrets/"),
            "{source}: keep secret files in deploy/secrets (dockerignored): {file}"
        );
    }
    assert_eq!(given, secret_files(&config, false));

    // The environment loads with the server's loader; metrics on the exposed port.
    let env = string_map(at(ledger, &["environment"]));
    let metrics = check_environment("docker-compose.yml", &env);
    assert_eq!(metrics.port(), 9464);
    assert!(published.contains(&metrics.port()));

    // A graceful stop, and files enough for RocksDB.
    assert_eq!(text(ledger, &["stop_signal"]), "SIGTERM");
    assert!(seconds(text(ledger, &["stop_grace_period"])) >= 30);
    assert!(int(ledger, &["ulimits", "nofile", "soft"]) >= 65536);
    assert!(strings(ledger, &["cap_drop"]).contains(&"ALL"));

    // Prometheus: its config mounted where its command reads it, scraping the ledger service.
    let prometheus = at(services, &["prometheus"]);
    let config_file = strings(prometheus, &["command"])
        .into_iter()
        .find_map(|arg| arg.strip_prefix("--config.file="))
        .expect("prometheus --config.file");
    let mount = list(prometheus, &["volumes"])
        .iter()
        .find(|v| text(v, &["target"]) == config_file)
        .expect("the Prometheus config is mounted");
    assert_eq!(text(mount, &["type"]), "bind");
    assert!(boolean(mount, &["read_only"]));
    let source = common::repository_root()
        .join("deploy")
        .join(text(mount, &["source"]));
    assert_eq!(
        source.canonicalize().expect("the Prometheus config exists"),
        common::repository_root()
            .join("deploy/prometheus/prometheus.yml")
            .canonicalize()
            .expect("deploy/prometheus/prometheus.yml"),
        "compose mounts deploy/prometheus/prometheus.yml"
    );

    let scrape = yaml_document("deploy/prometheus/prometheus.yml");
    let jobs = list(&scrape, &["scrape_configs"]);
    let job = named_by(jobs, "job_name", "gdpr-ledger");
    assert_eq!(text(job, &["metrics_path"]), "/metrics");
    let targets: Vec<&str> = list(job, &["static_configs"])
        .iter()
        .flat_map(|c| strings(c, &["targets"]))
        .collect();
    let (host, port) = targets
        .first()
        .and_then(|t| t.split_once(':'))
        .expect("a host:port target");
    assert_eq!(targets.len(), 1, "one target: {targets:?}");
    assert!(
        get(services, host).is_some_and(|service| get(service, "build").is_some()),
        "the target {host} is the service that builds the ledger"
    );
    assert_eq!(port.parse::<u16>().expect("a port"), metrics.port());
}

/// The item of a list whose `key` is `value`.
fn named_by<'a>(items: &'a [Yaml], key: &str, value: &str) -> &'a Yaml {
    items
        .iter()
        .find(|item| get(item, key).and_then(Yaml::as_str) == Some(value))
        .unwrap_or_else(|| panic!("no item with {key} = {value:?}"))
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

/// Every manifest the kustomization lists (and it lists every manifest in the directory).
fn kubernetes() -> (Yaml, Vec<Yaml>) {
    let dir = "deploy/kubernetes";
    let kustomization = yaml_document(&format!("{dir}/kustomization.yaml"));
    assert!(
        get(&kustomization, "namespace").is_none(),
        "the manifests are namespace-agnostic"
    );
    let resources: BTreeSet<String> = strings(&kustomization, &["resources"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(common::repository_root().join(dir))
        .expect("deploy/kubernetes")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| {
            (name.ends_with(".yaml") || name.ends_with(".yml")) && name != "kustomization.yaml"
        })
        .collect();
    assert_eq!(resources, on_disk, "the kustomization lists every manifest");
    let mut documents = Vec::new();
    for resource in &resources {
        for document in yaml_documents(&format!("{dir}/{resource}")) {
            text(&document, &["apiVersion"]);
            text(&document, &["kind"]);
            assert!(
                get(at(&document, &["metadata"]), "namespace").is_none(),
                "{resource}: no namespace in the manifests"
            );
            documents.push(document);
        }
    }
    (kustomization, documents)
}

fn object<'a>(documents: &'a [Yaml], kind: &str, name: &str) -> &'a Yaml {
    documents
        .iter()
        .find(|d| text(d, &["kind"]) == kind && text(d, &["metadata", "name"]) == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// A container port, by number or by name.
fn container_port(container: &Yaml, port: &Yaml) -> i64 {
    match port {
        Yaml::Integer(number) => *number,
        Yaml::String(name) => int(named(list(container, &["ports"]), name), &["containerPort"]),
        other => panic!("not a port: {other:?}"),
    }
}

/// Labels `wanted` all appear in `labels`.
fn labels_match(wanted: &Yaml, labels: &Yaml) -> bool {
    let labels = string_map(labels);
    string_map(wanted).iter().all(|pair| labels.contains(pair))
}

fn check_container_security(container: &Yaml, uid: u32) {
    let name = text(container, &["name"]);
    let security = at(container, &["securityContext"]);
    assert!(boolean(security, &["runAsNonRoot"]), "{name}: runAsNonRoot");
    assert_eq!(
        int(security, &["runAsUser"]),
        i64::from(uid),
        "{name}: runAsUser"
    );
    assert!(
        !boolean(security, &["allowPrivilegeEscalation"]),
        "{name}: no privilege escalation"
    );
    assert!(
        boolean(security, &["readOnlyRootFilesystem"]),
        "{name}: read-only root filesystem"
    );
    assert!(
        strings(security, &["capabilities", "drop"]).contains(&"ALL"),
        "{name}: drop ALL capabilities"
    );
}

/// The manifests, and the parts of the StatefulSet that every check needs.
struct Cluster {
    kustomization: Yaml,
    documents: Vec<Yaml>,
}

impl Cluster {
    fn load() -> Self {
        let (kustomization, documents) = kubernetes();
        Self {
            kustomization,
            documents,
        }
    }

    fn spec(&self) -> &Yaml {
        at(
            object(&self.documents, "StatefulSet", "gdpr-ledger"),
            &["spec"],
        )
    }

    fn pod(&self) -> &Yaml {
        at(self.spec(), &["template", "spec"])
    }

    fn template_labels(&self) -> &Yaml {
        at(self.spec(), &["template", "metadata", "labels"])
    }

    /// The server's container (the only one).
    fn ledger(&self) -> &Yaml {
        let containers = list(self.pod(), &["containers"]);
        assert_eq!(containers.len(), 1, "one container");
        &containers[0]
    }

    /// The container's environment, loaded with the server's loader; returns the metrics address.
    fn metrics(&self) -> SocketAddr {
        let env: Vec<(String, String)> = list(self.ledger(), &["env"])
            .iter()
            .map(|e| {
                (
                    text(e, &["name"]).to_owned(),
                    text(e, &["value"]).to_owned(),
                )
            })
            .collect();
        check_environment("the StatefulSet", &env)
    }
}

#[test]
fn kubernetes_runs_one_locked_down_ledger() {
    let image = image();
    let cluster = Cluster::load();
    let spec = cluster.spec();
    assert_eq!(int(spec, &["replicas"]), 1, "one writer");
    for key in ["whenDeleted", "whenScaled"] {
        assert_eq!(
            text(spec, &["persistentVolumeClaimRetentionPolicy", key]),
            "Retain",
            "the log's volume outlives the StatefulSet"
        );
    }
    assert!(labels_match(
        at(spec, &["selector", "matchLabels"]),
        cluster.template_labels()
    ));

    let pod = cluster.pod();
    // Service links would inject GDPR_LEDGER_SERVICE_HOST, GDPR_LEDGER_PORT... for the Service
    // gdpr-ledger: the server reads them as configuration and refuses the unknown keys.
    assert!(
        !boolean(pod, &["enableServiceLinks"]),
        "enableServiceLinks: false"
    );
    assert!(!boolean(pod, &["automountServiceAccountToken"]));
    assert!(int(pod, &["terminationGracePeriodSeconds"]) >= 30);
    let security = at(pod, &["securityContext"]);
    assert!(boolean(security, &["runAsNonRoot"]));
    assert_eq!(int(security, &["runAsUser"]), i64::from(image.uid));
    assert_eq!(int(security, &["runAsGroup"]), i64::from(image.gid));
    assert_eq!(int(security, &["fsGroup"]), i64::from(image.gid));

    let ledger = cluster.ledger();
    check_container_security(ledger, image.uid);
    assert!(
        get(ledger, "command").is_none() && get(ledger, "args").is_none(),
        "the image's ENTRYPOINT (serve --config) runs unchanged"
    );
    let images: Vec<&str> = list(&cluster.kustomization, &["images"])
        .iter()
        .map(|i| text(i, &["name"]))
        .collect();
    assert!(images.contains(&text(ledger, &["image"])));

    // Ports: exactly what the image exposes; the environment loads with the server's loader.
    let ports: BTreeSet<u16> = list(ledger, &["ports"])
        .iter()
        .map(|p| u16::try_from(int(p, &["containerPort"])).expect("a port"))
        .collect();
    assert_eq!(ports, image.exposed);
    assert!(ports.contains(&cluster.metrics().port()));
}

#[test]
fn kubernetes_probes_and_services_reach_the_right_ports() {
    let config = container_config();
    let cluster = Cluster::load();
    let ledger = cluster.ledger();
    let metrics = cluster.metrics();

    // Probes: readiness on the ledger's own gRPC health, liveness on /healthz.
    let readiness = at(ledger, &["readinessProbe", "grpc"]);
    assert_eq!(int(readiness, &["port"]), i64::from(config.listen.port()));
    assert_eq!(text(readiness, &["service"]), LEDGER_SERVICE);
    let startup = at(ledger, &["startupProbe", "grpc"]);
    assert_eq!(int(startup, &["port"]), i64::from(config.listen.port()));
    assert_eq!(
        text(startup, &["service"]),
        "",
        "the server's overall health"
    );
    let liveness = at(ledger, &["livenessProbe", "httpGet"]);
    assert_eq!(text(liveness, &["path"]), "/healthz");
    assert_eq!(
        container_port(ledger, at(liveness, &["port"])),
        i64::from(metrics.port())
    );
    let annotations = string_map(at(cluster.spec(), &["template", "metadata", "annotations"]));
    assert!(annotations.contains(&("prometheus.io/port".into(), metrics.port().to_string())));
    assert!(annotations.contains(&("prometheus.io/path".into(), "/metrics".into())));

    // The Services reach the container's ports by name; the governing one is headless.
    let governing = object(
        &cluster.documents,
        "Service",
        text(cluster.spec(), &["serviceName"]),
    );
    assert_eq!(
        text(governing, &["spec", "clusterIP"]),
        "None",
        "the governing Service is headless"
    );
    let service = object(&cluster.documents, "Service", "gdpr-ledger");
    for selecting in [service, governing] {
        assert!(labels_match(
            at(selecting, &["spec", "selector"]),
            cluster.template_labels()
        ));
    }
    let service_ports = list(service, &["spec", "ports"]);
    for (name, port) in [("grpc", config.listen.port()), ("metrics", metrics.port())] {
        let entry = named(service_ports, name);
        assert_eq!(int(entry, &["port"]), i64::from(port));
        assert_eq!(
            container_port(ledger, at(entry, &["targetPort"])),
            i64::from(port)
        );
    }
}

#[test]
fn kubernetes_mounts_the_data_config_and_keys_where_the_server_reads_them() {
    let image = image();
    let config = container_config();
    let cluster = Cluster::load();
    let documents = &cluster.documents;
    let pod = cluster.pod();
    let ledger = cluster.ledger();
    let volumes = list(pod, &["volumes"]);
    let claims = list(cluster.spec(), &["volumeClaimTemplates"]);

    // Mounts: the claim at the data dir, the config where the ENTRYPOINT reads it, the keys on a
    // memory-backed emptyDir holding the secrets dir.
    let mounts = list(ledger, &["volumeMounts"]);
    let mount_path = |m: &Yaml| PathBuf::from(text(m, &["mountPath"]));
    let data = mounts
        .iter()
        .find(|m| mount_path(m) == config.data_dir)
        .expect("a volume at the data dir");
    let claim = claims
        .iter()
        .find(|c| text(c, &["metadata", "name"]) == text(data, &["name"]))
        .expect("the data volume is a volumeClaimTemplate");
    assert!(strings(claim, &["spec", "accessModes"]).contains(&"ReadWriteOnce"));

    let config_dir = image.config_path.parent().expect("a config dir");
    let config_mount = mounts
        .iter()
        .find(|m| mount_path(m) == config_dir)
        .expect("the ConfigMap at the ENTRYPOINT's config dir");
    let config_map_name = text(
        named(volumes, text(config_mount, &["name"])),
        &["configMap", "name"],
    );
    let config_map = object(documents, "ConfigMap", config_map_name);
    let file_name = image.config_path.file_name().expect("a file name");
    assert_eq!(
        text(config_map, &["data", &file_name.to_string_lossy()]),
        read(CONTAINER_CONFIG),
        "the ConfigMap carries {CONTAINER_CONFIG} verbatim"
    );

    let secrets_mount = mounts
        .iter()
        .find(|m| config.secrets_dir.starts_with(mount_path(m)))
        .expect("a volume holding the secrets dir");
    let secrets_path = mount_path(secrets_mount);
    assert!(
        !secrets_path.starts_with(&config.data_dir) && !config.data_dir.starts_with(&secrets_path),
        "the keys' volume and the data volume must not nest"
    );
    let secrets_volume = named(volumes, text(secrets_mount, &["name"]));
    assert_eq!(
        text(secrets_volume, &["emptyDir", "medium"]),
        "Memory",
        "the keys stay in memory"
    );

    // The init container copies the Secret (mode 0400; the kubelet adds group read with fsGroup)
    // into the secrets dir at 0600, which the server accepts.
    let init = named(list(pod, &["initContainers"]), "install-secrets");
    check_container_security(init, image.uid);
    assert_eq!(text(init, &["image"]), text(ledger, &["image"]));
    let init_mounts = list(init, &["volumeMounts"]);
    let shared = named_by(init_mounts, "name", text(secrets_mount, &["name"]));
    assert_eq!(mount_path(shared), secrets_path);
    let source_mount = init_mounts
        .iter()
        .find(|m| get(named(volumes, text(m, &["name"])), "secret").is_some())
        .expect("the init container mounts the Secret");
    assert!(boolean(source_mount, &["readOnly"]));
    let source_volume = named(volumes, text(source_mount, &["name"]));
    assert_eq!(
        int(source_volume, &["secret", "defaultMode"]),
        0o400,
        "Secret files mode 0400"
    );
    assert!(!mount_path(source_mount).starts_with(&config.data_dir));
    assert!(
        !mounts
            .iter()
            .any(|m| text(m, &["name"]) == text(source_mount, &["name"])),
        "the server does not read the Secret's (group-readable) files itself"
    );

    let command = strings(init, &["command"]);
    let [shell, "-c", script] = command.as_slice() else {
        panic!("install-secrets: command should be [sh, -c, script]: {command:?}");
    };
    assert!(shell.ends_with("sh"));
    let lines: Vec<&str> = script.lines().map(str::trim).collect();
    let assigned = |variable: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{variable}=")))
            .unwrap_or_else(|| panic!("install-secrets: no {variable}="))
    };
    assert_eq!(Path::new(assigned("src")), mount_path(source_mount));
    assert_eq!(Path::new(assigned("dst")), config.secrets_dir);
    let copied: BTreeSet<String> = lines
        .iter()
        .find_map(|l| l.strip_prefix("for name in "))
        .and_then(|l| l.strip_suffix("; do"))
        .expect("install-secrets: for name in ...; do")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(copied, secret_files(&config, false));
    assert!(lines.contains(&"set -eu"));
    assert!(lines.contains(&"umask 077"));
    assert!(
        lines.contains(&r#"install -m 0600 "$src/$name" "$dst/$name""#),
        "install-secrets copies each file at mode 0600"
    );
}

/// Whether the ledger container mounts, where `journal` lies, a writable volume of its own (apart
/// from the data and secrets dirs) that is a `volumeClaimTemplate`, not the data's.
fn cluster_keeps(cluster: &Cluster, config: &Config, journal: &Path) -> Result<(), String> {
    let mounts = list(cluster.ledger(), &["volumeMounts"]);
    let mount_path = |m: &Yaml| PathBuf::from(text(m, &["mountPath"]));
    let mount = deepest(mounts, journal, mount_path).ok_or("on no volumeMount")?;
    let name = text(mount, &["name"]);
    if get(mount, "readOnly").and_then(Yaml::as_bool) == Some(true) {
        return Err(format!("the volume {name} is mounted read-only"));
    }
    for (what, dir) in [
        ("data dir", &config.data_dir),
        ("secrets dir", &config.secrets_dir),
    ] {
        if nests(&mount_path(mount), dir) {
            return Err(format!(
                "the volume {name} at {} nests with the {what} {}",
                mount_path(mount).display(),
                dir.display()
            ));
        }
    }
    if list(cluster.pod(), &["volumes"])
        .iter()
        .any(|v| text(v, &["name"]) == name)
    {
        return Err(format!("{name} is a pod volume, not a claim"));
    }
    let claim = list(cluster.spec(), &["volumeClaimTemplates"])
        .iter()
        .find(|c| text(c, &["metadata", "name"]) == name)
        .ok_or_else(|| format!("{name} is not a volumeClaimTemplate"))?;
    if !strings(claim, &["spec", "accessModes"]).contains(&"ReadWriteOnce") {
        return Err(format!("the claim {name} is not ReadWriteOnce"));
    }
    text(claim, &["spec", "resources", "requests", "storage"]);
    if mounts
        .iter()
        .any(|m| mount_path(m) == config.data_dir && text(m, &["name"]) == name)
    {
        return Err(format!("the claim {name} also holds the data"));
    }
    Ok(())
}

#[test]
fn kubernetes_keeps_the_erasure_journal_on_its_own_claim() {
    let config = container_config();
    let cluster = Cluster::load();
    check_journal_storage("the StatefulSet", &config, |journal| {
        cluster_keeps(&cluster, &config, journal)
    });
}

// ---------------------------------------------------------------------------------------------
// systemd

/// `(section, key, value)` for every assignment of a unit file, continuation lines joined.
fn parse_unit(text: &str) -> Vec<(String, String, String)> {
    let mut entries = Vec::new();
    let mut section = String::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with(['#', ';'])) {
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            pending.push_str(continued);
            pending.push(' ');
            continue;
        }
        let line = std::mem::take(&mut pending) + trimmed;
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not an assignment: {line}"));
        assert!(!section.is_empty(), "{key}= outside a section");
        entries.push((
            section.clone(),
            key.trim().to_owned(),
            value.trim().to_owned(),
        ));
    }
    entries
}

fn unit_values<'a>(unit: &'a [(String, String, String)], section: &str, key: &str) -> Vec<&'a str> {
    unit.iter()
        .filter(|(s, k, _)| s == section && k == key)
        .map(|(_, _, v)| v.as_str())
        .collect()
}

fn unit_value<'a>(unit: &'a [(String, String, String)], key: &str) -> &'a str {
    let values = unit_values(unit, "Service", key);
    assert_eq!(
        values.len(),
        1,
        "[Service] {key}= should be set once: {values:?}"
    );
    values[0]
}

/// Runs `systemd-analyze` with `args`; fails the test, saying what to install, if it is missing.
fn systemd_analyze(args: &[&str], dir: &Path) -> (bool, String) {
    let output = Command::new("systemd-analyze")
        .args(args)
        .current_dir(dir)
        .env("SYSTEMD_PAGER", "")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run systemd-analyze ({e}): it checks {SYSTEMD_UNIT}. Install the `systemd` \
                 package (scripts/bootstrap.sh does)"
            )
        });
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// A copy of the unit named `gdpr-ledger.service` in `dir`, its ExecStart= pointing at the binary
/// this test was built with (systemd-analyze verify requires it to exist), after `change`.
fn unit_copy(dir: &Path, change: impl Fn(&str) -> String) -> PathBuf {
    let binary = env!("CARGO_BIN_EXE_gdpr-ledger");
    let mut replaced = 0;
    let text: String = read(SYSTEMD_UNIT)
        .lines()
        .map(|line| {
            let line = match line.strip_prefix("ExecStart=") {
                Some(command) => {
                    replaced += 1;
                    let (_, args) = command.split_once(' ').expect("ExecStart= has arguments");
                    format!("ExecStart=\"{binary}\" {args}")
                }
                None => line.to_owned(),
            };
            change(&line) + "\n"
        })
        .collect();
    assert_eq!(replaced, 1, "one ExecStart=");
    let path = dir.join("gdpr-ledger.service");
    std::fs::write(&path, text).expect("write the unit copy");
    path
}

#[test]
fn systemd_analyze_verifies_the_unit_without_warnings() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let unit = unit_copy(dir.path(), str::to_owned);
    let unit = unit.to_str().expect("a UTF-8 path");
    let (ok, output) = systemd_analyze(&["verify", unit], dir.path());
    let about_unit: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("gdpr-ledger"))
        .collect();
    assert!(
        ok && about_unit.is_empty(),
        "systemd-analyze verify {SYSTEMD_UNIT}:\n{output}"
    );

    // The same check does see a broken unit, so its silence above means something.
    let broken = tempfile::tempdir().expect("a temp dir");
    let unit = unit_copy(broken.path(), |line| {
        line.replace("ProtectHome=yes", "ProtectHomme=yes")
    });
    let unit = unit.to_str().expect("a UTF-8 path");
    let (_, output) = systemd_analyze(&["verify", unit], broken.path());
    assert!(
        output.contains("ProtectHomme"),
        "systemd-analyze verify did not report an unknown key:\n{output}"
    );

    // Its own rating of the sandbox (0 is best, 10 worst).
    let unit = unit_copy(dir.path(), str::to_owned);
    let unit = unit.to_str().expect("a UTF-8 path");
    let (ok, output) = systemd_analyze(
        &["security", "--no-pager", "--offline=true", unit],
        dir.path(),
    );
    assert!(ok, "systemd-analyze security:\n{output}");
    let exposure: f64 = output
        .lines()
        .find_map(|l| {
            l.split_once("Overall exposure level for ")?
                .1
                .split_once(": ")
        })
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{output}"));
    assert!(
        exposure <= 2.0,
        "systemd-analyze security rates the unit {exposure}:\n{output}"
    );
}

#[test]
fn the_systemd_unit_is_sandboxed_and_matches_its_config() {
    let unit = parse_unit(&read(SYSTEMD_UNIT));
    let config = systemd_config();
    check_deployment_config(&config, SYSTEMD_CONFIG);
    // Plaintext gRPC stays on loopback (remote clients: configure [tls]); so do the metrics, on
    // the default address the README names.
    assert!(config.listen.ip().is_loopback());
    assert!(!config.allow_plaintext_non_loopback);
    assert_eq!(
        config.metrics_listen,
        MetricsListen::Address("127.0.0.1:9464".parse().expect("address"))
    );

    assert_eq!(
        unit_value(&unit, "Type"),
        "simple",
        "the server does not sd_notify"
    );
    assert_eq!(unit_value(&unit, "User"), "gdpr-ledger");
    assert_eq!(unit_value(&unit, "Group"), "gdpr-ledger");

    // ExecStart: serve with the config in the ConfigurationDirectory.
    let exec: Vec<&str> = unit_value(&unit, "ExecStart").split_whitespace().collect();
    let [binary, "serve", "--config", config_path] = exec.as_slice() else {
        panic!("ExecStart= should be BINARY serve --config FILE: {exec:?}");
    };
    assert!(Path::new(binary).is_absolute());
    let configuration = unit_value(&unit, "ConfigurationDirectory");
    assert_eq!(
        Path::new(config_path),
        Path::new("/etc").join(configuration).join("config.toml")
    );

    // The data dir is a StateDirectory (the journal's is the other), the only writable paths. The secrets dir lies in the
    // ConfigurationDirectory, read-only to the service: every file the server reads there, the
    // verifier key included, is provided, and the README's install command names them all.
    let states = state_directories(&unit);
    assert!(
        states.contains(&config.data_dir),
        "the data dir is a StateDirectory=: {states:?}"
    );
    assert_eq!(unit_value(&unit, "StateDirectoryMode"), "0700");
    assert!(
        config
            .secrets_dir
            .starts_with(Path::new("/etc").join(configuration))
    );
    for key in ["ReadWritePaths", "LoadCredential"] {
        assert!(
            unit_values(&unit, "Service", key).is_empty(),
            "[Service] {key}= is not used: {key}"
        );
    }
    let readme = read("deploy/README.md");
    let command = "sudo install -o gdpr-ledger -g gdpr-ledger -m 0600 secrets/{";
    let (files, target) = readme
        .lines()
        .find_map(|l| l.trim().strip_prefix(command))
        .and_then(|l| l.split_once('}'))
        .unwrap_or_else(|| panic!("deploy/README.md should run `{command}...}} SECRETS_DIR`"));
    let installed: BTreeSet<String> = files.split(',').map(str::to_owned).collect();
    assert_eq!(installed, secret_files(&config, true));
    assert_eq!(
        Path::new(target.trim()),
        config.secrets_dir,
        "deploy/README.md installs the secrets into the secrets dir"
    );

    // Sandboxing and lifecycle.
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("MemoryDenyWriteExecute", "yes"),
        ("LockPersonality", "yes"),
        ("RestrictNamespaces", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("SystemCallArchitectures", "native"),
        ("UMask", "0077"),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
    ] {
        assert_eq!(unit_value(&unit, key), value, "[Service] {key}=");
    }
    let filters = unit_values(&unit, "Service", "SystemCallFilter");
    assert!(filters.contains(&"@system-service"), "{filters:?}");
    assert!(
        unit_values(&unit, "Service", "ReadWritePaths").is_empty(),
        "StateDirectory= holds the only writable paths"
    );
    assert!(seconds(unit_value(&unit, "TimeoutStopSec")) >= 30);
    let files: u64 = unit_value(&unit, "LimitNOFILE")
        .parse()
        .expect("LimitNOFILE is a number");
    assert!(
        files >= 65536,
        "LimitNOFILE={files}: RocksDB keeps its files open"
    );
    assert_eq!(
        unit_values(&unit, "Install", "WantedBy"),
        ["multi-user.target"]
    );
}

/// The directories of the unit's `StateDirectory=` (several names, space-separated).
fn state_directories(unit: &[(String, String, String)]) -> Vec<PathBuf> {
    unit_values(unit, "Service", "StateDirectory")
        .iter()
        .flat_map(|v| v.split_whitespace())
        .map(|name| Path::new("/var/lib").join(name))
        .collect()
}

/// Whether `journal` lies in a writable, persistent directory of the unit (`StateDirectory=` or
/// `ReadWritePaths=`) of its own, apart from the data and secrets dirs.
fn unit_keeps(
    unit: &[(String, String, String)],
    config: &Config,
    journal: &Path,
) -> Result<(), String> {
    let mut writable = state_directories(unit);
    writable.extend(
        unit_values(unit, "Service", "ReadWritePaths")
            .iter()
            .flat_map(|v| v.split_whitespace())
            .map(|p| PathBuf::from(p.trim_start_matches(['-', '+']))),
    );
    let dir = deepest(&writable, journal, PathBuf::clone)
        .ok_or_else(|| format!("in no StateDirectory= or ReadWritePaths= ({writable:?})"))?;
    for (name, other) in [
        ("data dir", &config.data_dir),
        ("secrets dir", &config.secrets_dir),
    ] {
        if nests(dir, other) {
            return Err(format!(
                "its directory {} nests with the {name} {}",
                dir.display(),
                other.display()
            ));
        }
    }
    Ok(())
}

#[test]
fn systemd_keeps_the_erasure_journal_in_its_own_state_directory() {
    let unit = parse_unit(&read(SYSTEMD_UNIT));
    let config = systemd_config();
    check_journal_storage(SYSTEMD_UNIT, &config, |journal| {
        unit_keeps(&unit, &config, journal)
    });
}

// ---------------------------------------------------------------------------------------------
// Alerting rules and the Grafana dashboard, against the metrics a running server exports

const ALERTS: &str = "deploy/prometheus/alerts.yml";
const PROMETHEUS_CONFIG: &str = "deploy/prometheus/prometheus.yml";
const DASHBOARD: &str = "deploy/grafana/gdpr-ledger.json";

/// Every series name a freshly started server's `/metrics` exports.
async fn exported_metric_names() -> BTreeSet<String> {
    let ledger = common::TestLedger::start().await;
    let names = common::promql::scrape_exported_names(ledger.metrics_addr()).await;
    assert!(
        names.contains("gdpr_ledger_sequencer_failed"),
        "a real page: {names:?}"
    );
    names
}

/// `promtool` with `args` in the repository's root, if promtool is installed (Debian's
/// `prometheus` package; scripts/bootstrap.sh installs it): `None` when it is not.
fn promtool(args: &[&str]) -> Option<(bool, String)> {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(common::repository_root())
        .output();
    match output {
        Ok(output) => {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            Some((output.status.success(), text))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("promtool is not installed: {ALERTS} is checked without it");
            None
        }
        Err(e) => panic!("cannot run promtool: {e}"),
    }
}

/// Checks that every expression names at least one metric and only metrics in `exported`;
/// returns every name they read.
fn check_expressions<'a>(
    what: &str,
    expressions: impl IntoIterator<Item = (String, &'a str)>,
    exported: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut read = BTreeSet::new();
    let mut wrong = Vec::new();
    for (name, expr) in expressions {
        let names = common::promql::metric_names(expr);
        if names.is_empty() {
            wrong.push(format!("{name}: names no metric in {expr:?}"));
        }
        let unexported = common::promql::unexported_names(expr, exported);
        if !unexported.is_empty() {
            wrong.push(format!("{name}: {unexported:?} not exported, in {expr:?}"));
        }
        read.extend(names);
    }
    assert!(
        wrong.is_empty(),
        "{what}:\n{}\nexported: {exported:?}",
        wrong.join("\n")
    );
    read
}

#[test]
fn promql_metric_names_are_the_series_a_query_reads() {
    let names = |expr: &str| {
        common::promql::metric_names(expr)
            .into_iter()
            .collect::<Vec<_>>()
    };
    assert_eq!(names("up == 0"), ["up"]);
    assert_eq!(
        names(
            "histogram_quantile(0.99, sum by (instance, le) (rate(a_seconds_bucket{job=~\"x|y\", le!=\"+Inf\"}[$__rate_interval])))"
        ),
        ["a_seconds_bucket"]
    );
    assert_eq!(
        names(
            "sum without(reason) (rate(b_total[5m] offset 1h)) / on (instance) group_left(version) c_info > bool 1e3"
        ),
        ["b_total", "c_info"]
    );
    assert_eq!(
        names(
            "d > 30 * 24 * 3600 and e unless absent(f) or label_replace(g, \"to\", \"$1\", \"from\", \"(.*)\")"
        ),
        ["d", "e", "f", "g"]
    );
    assert_eq!(names("max_over_time(h[1h:5m]) # a comment naming i"), ["h"]);
    assert_eq!(
        names("{__name__=\"j:recorded\", job=\"k\"}"),
        ["j:recorded"]
    );
    assert_eq!(names("sum(rate(l[5m])) by (job) > Inf"), ["l"]);
    assert_eq!(
        names("max by (instance) (m) - count without (le) (n) + topk by (x) (3, o)"),
        ["m", "n", "o"]
    );

    let page =
        "# TYPE x counter\nx_total 1\n# TYPE y histogram\n# TYPE z gauge\nz{a=\"b\"} 2\n# EOF\n";
    let exported = common::promql::exported_names(page);
    assert_eq!(
        exported.iter().map(String::as_str).collect::<Vec<_>>(),
        ["x_total", "y_bucket", "y_count", "y_sum", "z"]
    );
    assert_eq!(
        common::promql::unexported_names("rate(x_total[5m]) / y_count + up", &exported),
        ["up"]
    );
}

/// deploy/prometheus/alerts.yml: each rule is an alert with a severity and a summary, reads only
/// metrics a running server exports, and the rules cover the failures the ledger can show:
/// a failed sequencer, a stale checkpoint, append refusals, overdue erasure cases. promtool, when
/// installed, accepts the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alerting_rules_read_only_metrics_the_server_exports() {
    let exported = exported_metric_names().await;
    let rules = yaml_document(ALERTS);
    let mut expressions = Vec::new();
    for group in list(&rules, &["groups"]) {
        for rule in list(group, &["rules"]) {
            let alert = text(rule, &["alert"]);
            assert!(
                alert.starts_with("GdprLedger"),
                "alerts are named GdprLedger*: {alert}"
            );
            let severity = text(rule, &["labels", "severity"]);
            assert!(
                ["critical", "warning"].contains(&severity),
                "{alert}: severity {severity}"
            );
            assert!(!text(rule, &["annotations", "summary"]).is_empty());
            expressions.push((alert.to_owned(), text(rule, &["expr"])));
        }
    }
    let read = check_expressions(ALERTS, expressions, &exported);
    for needed in [
        "gdpr_ledger_sequencer_failed",
        "gdpr_ledger_replica_applier_stopped",
        "gdpr_ledger_checkpoint_age_seconds",
        "gdpr_ledger_append_rejections_total",
        "gdpr_ledger_erasure_oldest_open_case_age_seconds",
        "gdpr_ledger_retention_overdue",
    ] {
        assert!(read.contains(needed), "no alert reads {needed}");
    }
    if let Some((ok, output)) = promtool(&["check", "rules", ALERTS]) {
        assert!(ok, "promtool check rules {ALERTS}:\n{output}");
    }
}

/// prometheus.yml loads alerts.yml (rule_files, relative to the config), and compose mounts it
/// beside the config, read-only; promtool, when installed, accepts the config with its rules.
#[test]
fn prometheus_loads_the_alerting_rules() {
    let config = yaml_document(PROMETHEUS_CONFIG);
    let rule_files = strings(&config, &["rule_files"]);
    assert_eq!(rule_files, ["alerts.yml"], "{PROMETHEUS_CONFIG} rule_files");
    let config_dir = Path::new(PROMETHEUS_CONFIG).parent().expect("a directory");
    assert_eq!(
        config_dir.join(rule_files[0]),
        Path::new(ALERTS),
        "rule_files is relative to the config's directory"
    );

    let compose = yaml_document("deploy/docker-compose.yml");
    let prometheus = at(&compose, &["services", "prometheus"]);
    let config_file = strings(prometheus, &["command"])
        .into_iter()
        .find_map(|arg| arg.strip_prefix("--config.file="))
        .expect("prometheus --config.file");
    let rules_target = Path::new(config_file)
        .parent()
        .expect("the config's directory")
        .join(rule_files[0]);
    let mount = list(prometheus, &["volumes"])
        .iter()
        .find(|v| Path::new(text(v, &["target"])) == rules_target)
        .unwrap_or_else(|| panic!("compose mounts no file at {}", rules_target.display()));
    assert_eq!(text(mount, &["type"]), "bind");
    assert!(boolean(mount, &["read_only"]));
    let source = common::repository_root()
        .join("deploy")
        .join(text(mount, &["source"]));
    assert_eq!(
        source.canonicalize().expect("the mounted rules exist"),
        common::repository_root()
            .join(ALERTS)
            .canonicalize()
            .expect("the alerting rules"),
        "compose mounts {ALERTS}"
    );
    if let Some((ok, output)) = promtool(&["check", "config", PROMETHEUS_CONFIG]) {
        assert!(ok, "promtool check config {PROMETHEUS_CONFIG}:\n{output}");
        assert!(output.contains("SUCCESS"), "{output}");
    }
}

/// Every panel's queries, rows' panels included: (panel title, PromQL).
fn dashboard_queries(panels: &[serde_json::Value], queries: &mut Vec<(String, String)>) {
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("(untitled)");
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{title}: a target without expr: {target}"));
            queries.push((title.to_owned(), expr.to_owned()));
        }
        if let Some(nested) = panel["panels"].as_array() {
            dashboard_queries(nested, queries);
        }
    }
}

/// deploy/grafana/gdpr-ledger.json: a dashboard whose every query reads only metrics a running
/// server exports, and that shows appends, latency quantiles, refusals, checkpoint age, open and
/// overdue erasure cases, and the build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_queries_only_metrics_the_server_exports() {
    let exported = exported_metric_names().await;
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"));
    assert_eq!(dashboard["uid"], "gdpr-ledger");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut queries = Vec::new();
    dashboard_queries(panels, &mut queries);
    assert!(!queries.is_empty(), "{DASHBOARD} has no query");
    let read = check_expressions(
        DASHBOARD,
        queries
            .iter()
            .map(|(title, expr)| (title.clone(), expr.as_str())),
        &exported,
    );
    for needed in [
        "gdpr_ledger_appended_events_total",
        "gdpr_ledger_append_duration_seconds_bucket",
        "gdpr_ledger_append_rejections_total",
        "gdpr_ledger_checkpoint_age_seconds",
        "gdpr_ledger_erasure_open_cases",
        "gdpr_ledger_erasure_oldest_open_case_age_seconds",
        "gdpr_ledger_build_info",
    ] {
        assert!(read.contains(needed), "no panel reads {needed}");
    }
    assert!(
        queries
            .iter()
            .any(|(_, expr)| expr.contains("histogram_quantile(")),
        "latency quantiles from the histograms"
    );
    // Panel ids are unique (Grafana keys its state by them).
    let mut ids = BTreeSet::new();
    for panel in panels {
        let id = panel["id"].as_u64().expect("a panel id");
        assert!(ids.insert(id), "panel id {id} twice");
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes, replicated (deploy/kubernetes-replicated: three ledgers over three nats-servers)

const REPLICATED: &str = "deploy/kubernetes-replicated";

/// The `$VARIABLE`s a nats-server configuration reads from its environment (unquoted `$NAME`;
/// a quoted `"$JS.API.>"` is a subject, not a variable).
fn nats_variables(conf: &str) -> BTreeSet<String> {
    let mut variables = BTreeSet::new();
    for line in conf.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut previous = ' ';
        for (at, c) in line.char_indices() {
            if c == '$' && previous != '"' {
                let name: String = line[at + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    variables.insert(name);
                }
            }
            previous = c;
        }
    }
    variables
}

/// A container's `env`, as (name, value) for the plain values and (name, "") for the ones taken
/// from a field or a Secret.
fn env_of(container: &Yaml) -> Vec<(String, String)> {
    get(container, "env")
        .and_then(Yaml::as_vec)
        .map(|env| {
            env.iter()
                .map(|e| {
                    (
                        text(e, &["name"]).to_owned(),
                        get(e, "value")
                            .and_then(Yaml::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_replicated_kubernetes_example_joins_three_ledgers_to_three_nats_servers() {
    // The overlay: the single-node manifests, the NATS cluster, and one patch; nothing else.
    let kustomization = yaml_document(&format!("{REPLICATED}/kustomization.yaml"));
    assert_eq!(
        strings(&kustomization, &["resources"]),
        ["../kubernetes", "nats.yaml"]
    );
    let patches: Vec<&str> = list(&kustomization, &["patches"])
        .iter()
        .map(|p| text(p, &["path"]))
        .collect();
    assert_eq!(patches, ["ledger-replicas.yaml"]);
    let on_disk: BTreeSet<String> = std::fs::read_dir(common::repository_root().join(REPLICATED))
        .expect(REPLICATED)
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        on_disk,
        ["kustomization.yaml", "ledger-replicas.yaml", "nats.yaml"]
            .map(str::to_owned)
            .into(),
    );

    // The patch, applied as kustomize's strategic merge does for the fields it sets: the base's
    // StatefulSet, three replicas, the same container with more environment.
    let base = Cluster::load();
    let patch = yaml_document(&format!("{REPLICATED}/ledger-replicas.yaml"));
    assert_eq!(text(&patch, &["kind"]), "StatefulSet");
    assert_eq!(text(&patch, &["metadata", "name"]), "gdpr-ledger");
    let replicas = int(&patch, &["spec", "replicas"]);
    assert_eq!(replicas, 3);
    let patched = list(&patch, &["spec", "template", "spec", "containers"]);
    assert_eq!(patched.len(), 1);
    assert_eq!(text(&patched[0], &["name"]), text(base.ledger(), &["name"]));
    let base_env = env_of(base.ledger());
    let added = env_of(&patched[0]);
    for (name, _) in &added {
        assert!(
            base_env.iter().all(|(n, _)| n != name),
            "{name}: the patch replaces a variable of the base"
        );
    }
    let env: Vec<(String, String)> = base_env.into_iter().chain(added).collect();
    let config = load_config(CONTAINER_CONFIG, &env)
        .unwrap_or_else(|e| panic!("the replicas' configuration does not load: {e}"));
    let replication = config
        .replication
        .as_ref()
        .expect("the patch makes the ledger a replica ([replication])");
    assert_eq!(replication.stream_replicas, 3);

    // Every replica gets the secrets a replica reads: the password file and the transit ratchet
    // are in the secrets dir, and the base's install-secrets copies them when the Secret has them.
    let password_file = replication
        .nats_password_file
        .as_ref()
        .expect("replication.nats_password_file");
    assert_eq!(password_file.parent(), Some(config.secrets_dir.as_path()));
    let script = list(base.pod(), &["initContainers"])
        .iter()
        .map(|c| strings(c, &["command"]).join("\n"))
        .collect::<String>();
    let optional = script
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("for optional in "))
        .and_then(|l| l.strip_suffix("; do"))
        .expect("install-secrets: for optional in ...; do");
    for file in [
        password_file
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned(),
        gdpr_ledger::replication::TRANSIT_RATCHET_FILE.to_owned(),
    ] {
        assert!(
            optional.split_whitespace().any(|f| f == file),
            "install-secrets does not copy {file}"
        );
    }

    // The NATS cluster: deploy/nats verbatim, three servers under a headless Service, the routes
    // and the ledgers' URLs naming its pods, every variable the configuration reads provided.
    let nats = yaml_documents(&format!("{REPLICATED}/nats.yaml"));
    let config_map = object(&nats, "ConfigMap", "gdpr-ledger-nats-config");
    let server_conf = read("deploy/nats/nats-server.conf");
    let authorization = read("deploy/nats/authorization.conf");
    assert_eq!(text(config_map, &["data", "nats-server.conf"]), server_conf);
    assert_eq!(
        text(config_map, &["data", "authorization.conf"]),
        authorization
    );
    let sts = object(&nats, "StatefulSet", "gdpr-ledger-nats");
    assert_eq!(int(sts, &["spec", "replicas"]), 3);
    let service_name = text(sts, &["spec", "serviceName"]);
    let service = object(&nats, "Service", service_name);
    assert_eq!(text(service, &["spec", "clusterIP"]), "None", "headless");
    assert!(boolean(service, &["spec", "publishNotReadyAddresses"]));
    let pod_labels = at(sts, &["spec", "template", "metadata", "labels"]);
    assert!(labels_match(at(service, &["spec", "selector"]), pod_labels));
    assert!(labels_match(
        at(sts, &["spec", "selector", "matchLabels"]),
        pod_labels
    ));
    let pod = at(sts, &["spec", "template", "spec"]);
    let containers = list(pod, &["containers"]);
    assert_eq!(containers.len(), 1);
    let server = &containers[0];
    let command = strings(server, &["command"]);
    let conf_path = command
        .windows(2)
        .find(|w| w[0] == "-c")
        .map(|w| Path::new(w[1]))
        .expect("nats-server -c <file>");
    let mounts = list(server, &["volumeMounts"]);
    let config_mount = mounts
        .iter()
        .find(|m| Some(Path::new(text(m, &["mountPath"]))) == conf_path.parent())
        .expect("the ConfigMap where -c reads");
    assert_eq!(
        text(
            named(list(pod, &["volumes"]), text(config_mount, &["name"])),
            &["configMap", "name"]
        ),
        "gdpr-ledger-nats-config"
    );
    let store_dir = server_conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("store_dir:"))
        .map(|v| v.trim().trim_matches('"'))
        .expect("jetstream.store_dir");
    let store_mount = mounts
        .iter()
        .find(|m| Path::new(store_dir).starts_with(text(m, &["mountPath"])))
        .expect("a volume under the store dir");
    assert!(
        list(sts, &["spec", "volumeClaimTemplates"])
            .iter()
            .any(|c| text(c, &["metadata", "name"]) == text(store_mount, &["name"])),
        "the store is a volumeClaimTemplate"
    );
    let server_env = env_of(server);
    let provided: BTreeSet<String> = server_env.iter().map(|(n, _)| n.clone()).collect();
    let read_vars = nats_variables(&format!("{server_conf}\n{authorization}"));
    assert!(
        read_vars.is_subset(&provided),
        "the nats-servers lack {:?}",
        read_vars.difference(&provided).collect::<Vec<_>>()
    );
    let port = |name: &str| int(named(list(server, &["ports"]), name), &["containerPort"]);
    let pod_name = |i: i64| format!("{}-{i}.{service_name}", text(sts, &["metadata", "name"]));
    let mut routes: Vec<String> = server_env
        .iter()
        .filter(|(n, _)| n.starts_with("NATS_ROUTE_"))
        .map(|(_, v)| v.clone())
        .collect();
    routes.sort();
    let expected_routes: Vec<String> = (0..3)
        .map(|i| format!("nats://{}:{}", pod_name(i), port("cluster")))
        .collect();
    assert_eq!(routes, expected_routes);
    let urls: Vec<&str> = replication.nats_urls.split(',').map(str::trim).collect();
    let expected_urls: Vec<String> = (0..3)
        .map(|i| format!("nats://{}:{}", pod_name(i), port("client")))
        .collect();
    assert_eq!(urls, expected_urls);

    // The replicas' NATS user is the one authorization.conf lets publish to the log.
    let user_line = format!("user: \"{}\"", replication.nats_user);
    assert!(
        authorization.lines().any(|l| l.trim() == user_line),
        "{} is not a user of deploy/nats/authorization.conf",
        replication.nats_user
    );
}

const REPLICATED_COMPOSE: &str = "deploy/docker-compose.replicated.yml";

#[test]
fn the_replicated_compose_file_joins_three_ledgers_to_three_nats_servers() {
    let compose = yaml_document(REPLICATED_COMPOSE);
    let services = at(&compose, &["services"]);
    let named_volumes = at(&compose, &["volumes"]);
    let deploy = common::repository_root().join("deploy");
    let server_conf = read("deploy/nats/nats-server.conf");
    let authorization = read("deploy/nats/authorization.conf");
    let wanted_vars = nats_variables(&format!("{server_conf}\n{authorization}"));
    // The first `listen:` is the clients', the second the cluster block's.
    let ports: Vec<String> = server_conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("listen:"))
        .filter_map(|v| v.trim().rsplit(':').next().map(str::to_owned))
        .collect();
    let [client_port, cluster_port] = ports.as_slice() else {
        panic!("two listen lines in nats-server.conf: {ports:?}")
    };
    let store_dir = server_conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("store_dir:"))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .expect("jetstream.store_dir");

    // Three nats-servers: deploy/nats bind-mounted where -c reads, every variable it reads set,
    // routes to all three, a named volume each under the store dir.
    let nats_names: Vec<String> = (0..3).map(|i| format!("nats-{i}")).collect();
    let mut server_names = BTreeSet::new();
    let mut stores = BTreeSet::new();
    for name in &nats_names {
        let nats = at(services, &[name]);
        let command = strings(nats, &["command"]);
        let conf_path = command
            .windows(2)
            .find(|w| w[0] == "-c")
            .map(|w| PathBuf::from(w[1]))
            .unwrap_or_else(|| panic!("{name}: nats-server -c <file>"));
        let volumes = list(nats, &["volumes"]);
        let bound = |target: &Path| {
            volumes
                .iter()
                .find(|v| Path::new(text(v, &["target"])) == target)
                .map(|v| {
                    assert_eq!(text(v, &["type"]), "bind", "{name}: {}", target.display());
                    deploy.join(text(v, &["source"]))
                })
                .unwrap_or_else(|| panic!("{name}: nothing at {}", target.display()))
        };
        let conf_dir = conf_path.parent().expect("a config dir");
        assert_eq!(
            bound(&conf_path).canonicalize().expect("exists"),
            deploy
                .join("nats/nats-server.conf")
                .canonicalize()
                .expect("exists")
        );
        assert_eq!(
            bound(&conf_dir.join("authorization.conf"))
                .canonicalize()
                .expect("exists"),
            deploy
                .join("nats/authorization.conf")
                .canonicalize()
                .expect("exists"),
            "{name}: nats-server.conf includes ./authorization.conf"
        );
        let env = string_map(at(nats, &["environment"]));
        let provided: BTreeSet<String> = env.iter().map(|(k, _)| k.clone()).collect();
        assert!(
            wanted_vars.is_subset(&provided),
            "{name} lacks {:?}",
            wanted_vars.difference(&provided).collect::<Vec<_>>()
        );
        let value = |key: &str| {
            env.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        server_names.insert(value("NATS_SERVER_NAME"));
        let routes: BTreeSet<String> = (1..=3).map(|n| value(&format!("NATS_ROUTE_{n}"))).collect();
        let expected: BTreeSet<String> = nats_names
            .iter()
            .map(|n| format!("nats://{n}:{cluster_port}"))
            .collect();
        assert_eq!(routes, expected, "{name}: routes");
        let store = volumes
            .iter()
            .find(|v| Path::new(&store_dir).starts_with(text(v, &["target"])))
            .unwrap_or_else(|| panic!("{name}: no volume under {store_dir}"));
        assert_eq!(text(store, &["type"]), "volume");
        let source = text(store, &["source"]).to_owned();
        assert!(
            get(named_volumes, &source).is_some(),
            "{source} is declared"
        );
        stores.insert(source);
    }
    assert_eq!(server_names.len(), 3, "three server names");
    assert_eq!(stores.len(), 3, "a store each");

    // Three ledgers: the image as built, the replicas' configuration (loaded with the server's
    // loader and their environment) naming the three nats-servers, every secret a replica reads,
    // a data and a journal volume each, a loopback port each.
    let mut owned = BTreeSet::new();
    let mut host_ports = BTreeSet::new();
    for i in 0..3 {
        let name = format!("ledger-{i}");
        let ledger = at(services, &[&name]);
        assert_eq!(text(ledger, &["image"]), "gdpr-ledger:local");
        let env = string_map(at(ledger, &["environment"]));
        let config = load_config(CONTAINER_CONFIG, &env)
            .unwrap_or_else(|e| panic!("{name}: the configuration does not load: {e}"));
        let replication = config.replication.as_ref().expect("[replication]");
        assert_eq!(replication.stream_replicas, 3);
        let urls: Vec<String> = replication
            .nats_urls
            .split(',')
            .map(|u| u.trim().to_owned())
            .collect();
        let expected: Vec<String> = nats_names
            .iter()
            .map(|n| format!("nats://{n}:{client_port}"))
            .collect();
        assert_eq!(urls, expected, "{name}: nats_urls");
        assert!(
            authorization
                .lines()
                .any(|l| l.trim() == format!("user: \"{}\"", replication.nats_user)),
            "{name}: {} is not a NATS user",
            replication.nats_user
        );
        let mut wanted = secret_files(&config, false);
        wanted.insert(gdpr_ledger::replication::TRANSIT_RATCHET_FILE.to_owned());
        let password = replication
            .nats_password_file
            .as_ref()
            .expect("password file");
        assert_eq!(password.parent(), Some(config.secrets_dir.as_path()));
        wanted.insert(
            password
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned(),
        );
        let mounted: BTreeSet<String> = list(ledger, &["secrets"])
            .iter()
            .map(|s| {
                let target = PathBuf::from(text(s, &["target"]));
                assert_eq!(target.parent(), Some(config.secrets_dir.as_path()));
                let source = text(s, &["source"]);
                assert!(
                    get(at(&compose, &["secrets"]), source).is_some(),
                    "{source} is declared"
                );
                target
                    .file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(mounted, wanted, "{name}: the secrets a replica reads");
        let journal = erasure_journal(&config).expect("a journal");
        for dir in [
            config.data_dir.clone(),
            journal.parent().expect("a dir").to_path_buf(),
        ] {
            let volume = list(ledger, &["volumes"])
                .iter()
                .find(|v| Path::new(text(v, &["target"])) == dir)
                .unwrap_or_else(|| panic!("{name}: no volume at {}", dir.display()));
            assert_eq!(text(volume, &["type"]), "volume");
            let source = text(volume, &["source"]).to_owned();
            assert!(
                get(named_volumes, &source).is_some(),
                "{source} is declared"
            );
            assert!(
                owned.insert(source.clone()),
                "{source} is shared by two replicas"
            );
        }
        for port in strings(ledger, &["ports"]) {
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name}: {port} beyond loopback"
            );
            assert!(host_ports.insert(port.rsplit_once(':').map(|(host, _)| host.to_owned())));
        }
    }
    assert!(
        get(at(services, &["ledger-0"]), "build").is_some(),
        "one replica builds the image the others run"
    );
}
