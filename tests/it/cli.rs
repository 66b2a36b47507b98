//! The command line: config errors name the key, subcommands, SIGTERM.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::binary;

/// Runs the binary with `args` and environment `envs`, in a fresh folder.
fn run(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary())
        .args(args)
        .env_remove("HAZARD_LEDGER_CONFIG")
        .envs(envs.iter().copied())
        .current_dir(dir.path())
        .output()
        .expect("run binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

/// A config error is one line naming the key, with a non-zero exit and no backtrace.
fn assert_config_error(stderr: &str, code: i32, key: &str) {
    assert_ne!(code, 0);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains(key), "names {key}: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
}

#[test]
fn bad_value_in_config_file_names_the_key() {
    let f = config_file("[server]\nlisten = \"localhost:eighty\"\n");
    let (code, _, err) = run(
        &["--config", f.path().to_str().unwrap(), "check-config"],
        &[],
    );
    assert_config_error(&err, code, "server.listen");
    // Also when serving (the default command).
    let (code, _, err) = run(&["--config", f.path().to_str().unwrap()], &[]);
    assert_config_error(&err, code, "server.listen");
}

#[test]
fn wrong_type_unknown_key_and_bad_values_name_the_key() {
    let cases = [
        ("[database]\npool_size = \"many\"\n", "database.pool_size"),
        ("[server]\nlisten_port = 8080\n", "server.listen_port"),
        (
            "[database]\nurl = \"mysql://localhost/x\"\n",
            "database.url",
        ),
        (
            "[database]\nsqlite_synchronous = \"SOMETIMES\"\n",
            "database.sqlite_synchronous",
        ),
        ("[clock]\nnow = \"yesterday\"\n", "clock.now"),
        ("[clock]\ntimezone = \"Mars/Base\"\n", "clock.timezone"),
        ("[log]\nformat = \"xml\"\n", "log.format"),
        (
            "[server]\npublic_url = \"example.org\"\n",
            "server.public_url",
        ),
    ];
    for (text, key) in cases {
        let f = config_file(text);
        let (code, _, err) = run(
            &["--config", f.path().to_str().unwrap(), "check-config"],
            &[],
        );
        assert_config_error(&err, code, key);
    }
}

#[test]
fn environment_overrides_and_names_the_key() {
    let (code, out, _) = run(
        &["check-config"],
        &[("HAZARD_LEDGER__SERVER__LISTEN", "0.0.0.0:9999")],
    );
    assert_eq!(code, 0);
    assert!(out.contains("0.0.0.0:9999"), "{out}");
    let (code, _, err) = run(
        &["check-config"],
        &[("HAZARD_LEDGER__DATABASE__URL", "ftp://x")],
    );
    assert_config_error(&err, code, "database.url");
}

#[test]
fn config_file_from_environment_variable() {
    let f = config_file("[server]\nlisten = \"nope\"\n");
    let (code, _, err) = run(
        &["check-config"],
        &[("HAZARD_LEDGER_CONFIG", f.path().to_str().unwrap())],
    );
    assert_config_error(&err, code, "server.listen");
}

#[test]
fn missing_config_file_is_an_error() {
    let (code, _, err) = run(&["--config", "/nonexistent/hl.toml", "check-config"], &[]);
    assert_config_error(&err, code, "--config");
}

#[test]
fn help_explains_each_command() {
    let (code, out, _) = run(&["--help"], &[]);
    assert_eq!(code, 0);
    for cmd in ["serve", "migrate", "seed", "check-config", "--config"] {
        assert!(out.contains(cmd), "{cmd} in --help: {out}");
    }
}

#[test]
fn check_config_hides_the_database_password() {
    let (code, out, _) = run(
        &["check-config"],
        &[(
            "HAZARD_LEDGER__DATABASE__URL",
            "postgres://app:s3cret@db.example/hl",
        )],
    );
    assert_eq!(code, 0);
    assert!(!out.contains("s3cret"), "{out}");
    assert!(out.contains("config OK"));
}

#[test]
fn migrate_and_seed_commands_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/hl.db", dir.path().display());
    let env = [("HAZARD_LEDGER__DATABASE__URL", url.as_str())];
    let (code, out, err) = run(&["migrate"], &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied"), "{out}");
    let (code, out, _) = run(&["migrate"], &env);
    assert_eq!(code, 0);
    assert!(out.contains("up to date"), "{out}");
    let (code, out, _) = run(&["seed"], &env);
    assert_eq!(code, 0);
    assert!(!out.contains(" 0 inserted"), "{out}");
    let (code, out, _) = run(&["seed"], &env);
    assert_eq!(code, 0);
    assert!(out.contains("0 inserted, 0 updated"), "{out}");
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(binary())
        .arg("serve")
        .env("HAZARD_LEDGER__SERVER__LISTEN", &listen)
        .env("HAZARD_LEDGER__SERVER__WORKERS", "1")
        .env_remove("HAZARD_LEDGER_CONFIG")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until it answers.
    let started = Instant::now();
    loop {
        if std::net::TcpStream::connect(&listen).is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        dir.path().join("data/hazard-ledger.db").exists(),
        "default SQLite file in data/"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("graceful shutdown") || log.contains("server stopped"),
        "{log}"
    );
}
