//! The configuration: defaults that work, the file, environment overrides, unknown keys refused
//! by name, and the checks serde cannot make.
// figment::Jail's closure returns figment::Error, as its API requires.
#![allow(clippy::result_large_err)]

use crate::common;

use gdpr_ledger::config::{Config, MetricsListen};
use gdpr_ledger::tls::TlsConfig;

#[test]
fn defaults_are_a_working_first_run() {
    let config = Config::default();
    config.check().expect("the defaults pass their own checks");
    assert_eq!(config.listen.to_string(), "127.0.0.1:50051");
    assert_eq!(config.data_dir, std::path::PathBuf::from("./data"));
    assert_eq!(config.limits.max_event_bytes, 64 * 1024);
    assert_eq!(config.limits.max_request_bytes, 4 * 1024 * 1024);
    assert_eq!(config.limits.max_batch_events, 10_000);
}

#[test]
fn the_example_file_is_complete_and_parses() {
    // Inside a jail: other tests set GDPR_LEDGER_* variables, and the jail's lock keeps them out.
    figment::Jail::expect_with(|_jail| {
        let example = common::repository_root().join("deploy/config.example.toml");
        let config = Config::load(Some(&example)).expect("the example loads");
        // Every key in the example has its default value: the example documents the defaults.
        let defaults = toml::Value::try_from(Config::default()).expect("defaults serialise");
        let loaded = toml::Value::try_from(config).expect("config serialises");
        assert_eq!(loaded, defaults);
        Ok(())
    });
}

#[test]
fn unknown_keys_are_refused_by_name() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "ledger.toml",
            "origin = \"a.example/x\"\n[limits]\nmax_batch_event = 5\n",
        )?;
        let error = Config::load(Some(std::path::Path::new("ledger.toml")))
            .expect_err("a misspelt key is refused");
        assert!(error.to_string().contains("max_batch_event"), "{error}");
        Ok(())
    });
}

#[test]
fn the_master_key_variable_is_not_taken_for_a_setting() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("GDPR_LEDGER_MASTER_KEY", "00".repeat(32));
        jail.set_env("GDPR_LEDGER_ERASURE__PURGE_BATCH_MS", "5");
        let config = Config::load(None).expect("loads");
        assert_eq!(config.erasure.purge_batch_ms, 5);
        Ok(())
    });
}

#[test]
fn the_config_and_token_variables_are_not_taken_for_settings() {
    // Issue 16: GDPR_LEDGER_CONFIG (the environment form of `serve --config`) and an exported
    // GDPR_LEDGER_TOKEN (the clients' token) stopped the server: "unknown field: found config".
    figment::Jail::expect_with(|jail| {
        jail.create_file("ledger.toml", "origin = \"a.example/x\"\n")?;
        jail.set_env("GDPR_LEDGER_CONFIG", "ledger.toml");
        jail.set_env("GDPR_LEDGER_TOKEN", "a-client-token");
        // The Python example's variables, exported in the same shell.
        jail.set_env("GDPR_LEDGER_ADDRESS", "127.0.0.1:50051");
        jail.set_env("GDPR_LEDGER_VERIFIER_KEY", "secrets/verifier-key");
        let config = Config::load(Some(std::path::Path::new("ledger.toml"))).expect("loads");
        assert_eq!(config.origin, "a.example/x");
        Ok(())
    });
}

#[test]
fn an_unknown_variable_is_refused_naming_the_variable() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("GDPR_LEDGER_LIMITS__MAX_BATCH_EVENT", "5");
        let error = Config::load(None).expect_err("a misspelt variable is refused");
        let message = error.to_string();
        assert!(
            message.contains("environment variable GDPR_LEDGER_LIMITS__MAX_BATCH_EVENT names no setting (`limits.max_batch_event`)"),
            "{message}"
        );
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.set_env("GDPR_LEDGER_LISTEN_ADDRESS", "127.0.0.1:1");
        let message = Config::load(None).expect_err("refused").to_string();
        assert!(
            message.contains("GDPR_LEDGER_LISTEN_ADDRESS names no setting (`listen_address`)"),
            "{message}"
        );
        Ok(())
    });
}

#[test]
fn the_environment_overrides_the_file() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("ledger.toml", "[limits]\nmax_batch_events = 5\n")?;
        jail.set_env("GDPR_LEDGER_LIMITS__MAX_BATCH_EVENTS", "7");
        jail.set_env("GDPR_LEDGER_ORIGIN", "ledger.example/prod");
        let config = Config::load(Some(std::path::Path::new("ledger.toml"))).expect("loads");
        assert_eq!(config.limits.max_batch_events, 7);
        assert_eq!(config.origin, "ledger.example/prod");
        Ok(())
    });
}

#[test]
fn plaintext_off_loopback_and_secrets_inside_data_are_refused() {
    let mut config = Config {
        listen: "0.0.0.0:50051".parse().expect("address"),
        ..Config::default()
    };
    let error = config.check().expect_err("plaintext on all interfaces");
    assert!(error.to_string().contains("listen"), "{error}");
    config.allow_plaintext_non_loopback = true;
    config.check().expect("allowed explicitly");

    // The HTTP ingest listener: off by default, and under the same rule as gRPC.
    assert_eq!(Config::default().http_listen, None);
    let mut http = Config {
        http_listen: Some("0.0.0.0:8080".parse().expect("address")),
        ..Config::default()
    };
    let error = http.check().expect_err("plaintext HTTP on all interfaces");
    assert!(error.to_string().contains("http_listen"), "{error}");
    http.allow_plaintext_non_loopback = true;
    http.check().expect("allowed explicitly");
    figment::Jail::expect_with(|jail| {
        jail.create_file("ledger.toml", "http_listen = \"127.0.0.1:8080\"\n")?;
        let config = Config::load(Some(std::path::Path::new("ledger.toml"))).expect("loads");
        assert_eq!(
            config.http_listen,
            Some("127.0.0.1:8080".parse().expect("address"))
        );
        Ok(())
    });

    let inside = Config {
        secrets_dir: std::path::PathBuf::from("./data/secrets"),
        ..Config::default()
    };
    let error = inside.check().expect_err("secrets inside the data dir");
    assert!(error.to_string().contains("secrets_dir"), "{error}");

    let bad_origin = Config {
        origin: "has space".into(),
        ..Config::default()
    };
    assert!(bad_origin.check().is_err());
}

#[test]
fn a_missing_config_file_is_an_error() {
    figment::Jail::expect_with(|_jail| {
        let error = Config::load(Some(std::path::Path::new("/nonexistent/ledger.toml")))
            .expect_err("missing file");
        assert!(error.to_string().contains("does not exist"), "{error}");
        Ok(())
    });
}

#[test]
fn metrics_listen_is_an_address_or_off() {
    assert_eq!(
        Config::default().metrics_listen,
        MetricsListen::Address("127.0.0.1:9464".parse().expect("address"))
    );
    figment::Jail::expect_with(|jail| {
        jail.create_file("ledger.toml", "metrics_listen = \"off\"\n")?;
        let config = Config::load(Some(std::path::Path::new("ledger.toml"))).expect("loads");
        assert_eq!(config.metrics_listen, MetricsListen::Off);

        jail.set_env("GDPR_LEDGER_METRICS_LISTEN", "0.0.0.0:9464");
        let config = Config::load(Some(std::path::Path::new("ledger.toml"))).expect("loads");
        assert_eq!(
            config.metrics_listen,
            MetricsListen::Address("0.0.0.0:9464".parse().expect("address"))
        );
        // Serialised as the string it was given, so a written config loads the same.
        let written = toml::Value::try_from(&config).expect("serialises");
        assert_eq!(written["metrics_listen"].as_str(), Some("0.0.0.0:9464"));

        jail.set_env("GDPR_LEDGER_METRICS_LISTEN", "");
        let config = Config::load(Some(std::path::Path::new("ledger.toml"))).expect("loads");
        assert_eq!(config.metrics_listen, MetricsListen::Off, "empty is off");

        jail.set_env("GDPR_LEDGER_METRICS_LISTEN", "localhost-ish");
        let error =
            Config::load(Some(std::path::Path::new("ledger.toml"))).expect_err("not an address");
        // figment names the variable's key as written: METRICS_LISTEN.
        let text = error.to_string();
        assert!(text.to_lowercase().contains("metrics_listen"), "{text}");
        assert!(text.contains("localhost-ish"), "{text}");
        Ok(())
    });
}

#[test]
fn tls_allows_any_address_and_must_be_complete() {
    let tls = TlsConfig {
        cert_file: Some("/etc/gdpr-ledger/tls/server.crt".into()),
        key_file: Some("/etc/gdpr-ledger/secrets/server.key".into()),
        ..TlsConfig::default()
    };
    let config = Config {
        listen: "0.0.0.0:50051".parse().expect("address"),
        tls: tls.clone(),
        ..Config::default()
    };
    config
        .check()
        .expect("TLS on every interface needs no plaintext exception");

    let half = Config {
        tls: TlsConfig {
            key_file: None,
            ..tls.clone()
        },
        ..Config::default()
    };
    let error = half.check().expect_err("a certificate without its key");
    assert!(error.to_string().contains("tls.key_file"), "{error}");

    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "ledger.toml",
            concat!(
                "[tls]\n",
                "cert_file = \"server.crt\"\n",
                "key_file = \"server.key\"\n",
                "client_ca_file = \"clients-ca.crt\"\n",
                "[[tls.clients]]\n",
                "name = \"crm.internal\"\n",
                "identity = \"crm\"\n",
                "role = \"producer\"\n",
            ),
        )?;
        let config = Config::load(Some(std::path::Path::new("ledger.toml"))).expect("loads");
        assert!(config.tls.requires_client_certificates());
        assert_eq!(config.tls.clients[0].identity, "crm");

        jail.create_file(
            "bad.toml",
            "[tls]\ncert_file = \"server.crt\"\nkey_file = \"server.key\"\n[[tls.clients]]\nname = \"crm.internal\"\nidentity = \"crm\"\nrole = \"producer\"\n",
        )?;
        let error = Config::load(Some(std::path::Path::new("bad.toml")))
            .expect_err("mapped clients without a client CA");
        assert!(error.to_string().contains("tls.clients"), "{error}");
        Ok(())
    });
}

/// A server started from a directory that was removed since (a shell's `cd` into a temp dir that a
/// clean-up deleted) has no working directory: `getcwd` fails. With every path it runs with
/// absolute, from its file or from its flags, it needs none and starts; it used to refuse
/// `secrets_dir` ("cannot be resolved"), and with flags it checked the relative defaults they
/// replace.
#[tokio::test]
async fn absolute_paths_need_no_working_directory() {
    let dirs = tempfile::tempdir().expect("temp dir");
    let config = common::test_config(dirs.path());
    let config_path = dirs.path().join("gdpr-ledger.toml");
    std::fs::write(&config_path, common::process::toml_of(&config)).expect("config written");
    let from_file = vec!["--config".into(), config_path.into_os_string()];
    let flags = vec![
        "--data-dir".into(),
        dirs.path().join("flags-data").into_os_string(),
        "--secrets-dir".into(),
        dirs.path().join("flags-secrets").into_os_string(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--metrics-listen".into(),
        "off".into(),
    ];
    for (n, args) in [from_file, flags].into_iter().enumerate() {
        let gone = dirs.path().join(format!("gone-{n}"));
        std::fs::create_dir(&gone).expect("a directory to remove");
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg(r#"cd "$1" && rmdir "$1" && shift && exec "$@""#)
            .arg("sh")
            .arg(&gone)
            .arg(env!("CARGO_BIN_EXE_gdpr-ledger"))
            .arg("serve")
            .args(&args);
        let mut server =
            common::process::start_within(command, std::time::Duration::from_secs(60)).await;
        assert!(!gone.exists(), "the server's working directory was removed");
        server.child.start_kill().expect("the server is stopped");
        server.child.wait().await.expect("the server exits");
    }
}
