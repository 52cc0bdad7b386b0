//! The configuration: defaults that work, the file, environment overrides, unknown keys refused
//! by name, and the checks serde cannot make.
// figment::Jail's closure returns figment::Error, as its API requires.
#![allow(clippy::result_large_err)]

use gdpr_ledger::config::Config;

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
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/config.example.toml");
        let config = Config::load(Some(std::path::Path::new(example))).expect("the example loads");
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
