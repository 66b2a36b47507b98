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
fn a_data_folder_that_cannot_be_made_stops_check_config_and_serve_alike() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let inside_a_file = file.path().join("data");
    let data_dir = inside_a_file.to_str().unwrap();
    for cmd in ["check-config", "serve"] {
        let (code, _, err) = run(&[cmd], &[("HAZARD_LEDGER__DATA_DIR", data_dir)]);
        assert_config_error(&err, code, "data_dir");
        assert_eq!(code, 2, "{cmd}: {err}");
    }
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
    // Wait (bounded) until it answers HTTP: the port accepts connections before the signal
    // handlers are installed, and a SIGTERM in that window would kill it uncleanly.
    let started = Instant::now();
    loop {
        if answers_healthz(&listen) {
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

/// Starts `serve` in `dir` on a free port; answers the child and its base URL once it listens.
/// Whether `GET /healthz` at `listen` answers 200.
fn answers_healthz(listen: &str) -> bool {
    use std::io::Read;
    let Ok(mut stream) = std::net::TcpStream::connect(listen) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

fn spawn_serve(dir: &std::path::Path, envs: &[(&str, &str)]) -> (std::process::Child, String) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(binary())
        .arg("serve")
        .env_remove("HAZARD_LEDGER_CONFIG")
        .env("HAZARD_LEDGER__SERVER__LISTEN", &listen)
        .env("HAZARD_LEDGER__SERVER__WORKERS", "1")
        .env("HAZARD_LEDGER__AUTH__ARGON2_MEMORY_KIB", "1024")
        .env("HAZARD_LEDGER__AUTH__ARGON2_ITERATIONS", "1")
        .envs(envs.iter().copied())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, format!("http://{listen}"))
}

fn post_json(url: &str, token: Option<&str>, body: serde_json::Value) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut req = client.post(url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    })
}

#[test]
fn first_start_creates_admin_who_must_change_the_password() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = spawn_serve(dir.path(), &[]);
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let password = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.trim().strip_prefix("password: ").map(str::to_string))
        .expect("the admin password is printed once");
    let (status, login) = post_json(
        &format!("{base}/api/v1/auth/login"),
        None,
        serde_json::json!({"username": "admin", "password": password}),
    );
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["user"]["must_change_password"], true);
    assert_eq!(login["user"]["role"], "admin");
    let token = login["access_token"].as_str().unwrap();
    let (status, changed) = post_json(
        &format!("{base}/api/v1/auth/password"),
        Some(token),
        serde_json::json!({"current_password": password, "new_password": "A-Brand-New-Secret-77"}),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["user"]["must_change_password"], false);
    child.kill().unwrap();
    child.wait().unwrap();
    // A second start creates nobody and prints no password.
    let (mut child, _) = spawn_serve(dir.path(), &[]);
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("password:"));
}

#[test]
fn user_create_with_password_stdin_then_login_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let mut create = Command::new(binary())
        .args([
            "user",
            "create",
            "--username",
            "hy-officer",
            "--role",
            "street_officer",
            "--org",
            "HYL",
            "--password-stdin",
        ])
        .env_remove("HAZARD_LEDGER_CONFIG")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"Huayang-Road-2026\n")
        .unwrap();
    let out = create.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Before the first start: it says that it made the database (run from the wrong folder,
    // the operator learns the user is not where the service's data is).
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no database at"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, _, err) = run_in(
        dir.path(),
        &[
            "user",
            "create",
            "--username",
            "bad",
            "--role",
            "street_officer",
            "--org",
            "NOPE",
        ],
    );
    assert_ne!(code, 0);
    assert!(err.contains("org"), "{err}");
    let (mut child, base) = spawn_serve(dir.path(), &[]);
    let (status, login) = post_json(
        &format!("{base}/api/v1/auth/login"),
        None,
        serde_json::json!({"username": "hy-officer", "password": "Huayang-Road-2026"}),
    );
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["user"]["org"]["code"], "HYL");
    assert_eq!(login["user"]["must_change_password"], false);
    // Disabling from the command line ends the session at once.
    let (code, out, _) = run_in(dir.path(), &["user", "disable", "--username", "hy-officer"]);
    assert_eq!(code, 0, "{out}");
    let token = login["access_token"].as_str().unwrap();
    let (status, _) = post_json(
        &format!("{base}/api/v1/auth/logout"),
        Some(token),
        serde_json::json!({}),
    );
    assert_eq!(status, 401);
    child.kill().unwrap();
    child.wait().unwrap();
}

fn run_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(binary())
        .args(args)
        .env_remove("HAZARD_LEDGER_CONFIG")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_operators_holiday_file_adds_the_next_year() {
    let mut holidays = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    holidays
        .write_all(br#"{"years": {"2027": {"holidays": ["2027-01-01", "2027-02-05"], "working_weekends": []}}}"#)
        .unwrap();
    let path = holidays.path().to_str().unwrap().to_string();
    let (code, out, err) = run(
        &["check-config"],
        &[("HAZARD_LEDGER__CLOCK__HOLIDAYS_FILE", &path)],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("holiday calendar: 2023, 2024, 2025, 2026, 2027"),
        "{out}"
    );
    // Without it, only the built-in years.
    let (_, out, _) = run(&["check-config"], &[]);
    assert!(
        out.contains("holiday calendar: 2023, 2024, 2025, 2026\n"),
        "{out}"
    );
    // The default leaves the departments' leaders out of the +7 step, and says so.
    assert!(
        out.contains("note: escalation.department_leaders is empty"),
        "{out}"
    );
    let (code, out, _) = run(
        &["check-config"],
        &[(
            "HAZARD_LEDGER__ESCALATION__DEPARTMENT_LEADERS__YJJ",
            "[\"lead@example.org\"]",
        )],
    );
    assert_eq!(code, 0);
    assert!(out.contains("lead@example.org"), "{out}");
    assert!(
        out.contains("\"YJJ\""),
        "the code as the departments spell it: {out}"
    );
    assert!(!out.contains("department_leaders is empty"), "{out}");
    assert!(!out.contains("server.public_url is still"), "{out}");
    // Listening elsewhere while email links still point at the default address: said.
    let (code, out, _) = run(
        &["check-config"],
        &[("HAZARD_LEDGER__SERVER__LISTEN", "127.0.0.1:8091")],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("note: server.public_url is still http://127.0.0.1:8080 while the service listens on 127.0.0.1:8091"),
        "{out}"
    );
    // A file that is not a calendar, or whose dates do not fit their year, is refused as a
    // config error (exit 2, one line naming the key, nothing printed first).
    for text in [
        "not json",
        r#"{"years": {"2027": {"holidays": ["2028-01-01"]}}}"#,
        r#"{"years": {"2026": {"holidays": []}}}"#,
    ] {
        let bad = config_file(text);
        let (code, out, err) = run(
            &["check-config"],
            &[(
                "HAZARD_LEDGER__CLOCK__HOLIDAYS_FILE",
                bad.path().to_str().unwrap(),
            )],
        );
        assert_eq!(code, 2, "{text}: {err}");
        assert!(
            err.starts_with("config error: clock.holidays_file"),
            "{err}"
        );
        assert!(out.is_empty(), "{out}");
    }
}

#[test]
fn the_database_follows_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state");
    let (code, out, err) = run(
        &["check-config"],
        &[("HAZARD_LEDGER__DATA_DIR", data.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{err}");
    let want = format!("sqlite://{}/hazard-ledger.db", data.display());
    assert!(out.contains(&want), "{out}");
    // An explicit URL still wins.
    let (_, out, _) = run(
        &["check-config"],
        &[
            ("HAZARD_LEDGER__DATA_DIR", data.to_str().unwrap()),
            ("HAZARD_LEDGER__DATABASE__URL", "sqlite:///tmp/elsewhere.db"),
        ],
    );
    assert!(out.contains("sqlite:///tmp/elsewhere.db"), "{out}");
}

#[test]
fn maintenance_commands_do_not_create_a_database_and_generate_wants_a_fresh_one() {
    // From the wrong folder: no database here. Verifying or running jobs on a new empty one
    // would report an empty ledger as verified.
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["ledger", "verify"][..],
        &["jobs", "run", "escalation"][..],
        &["user", "passwd", "--username", "admin"][..],
        &["user", "disable", "--username", "admin"][..],
    ] {
        let (code, _, err) = run_in(dir.path(), args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains("no database at"), "{args:?}: {err}");
    }
    assert!(!dir.path().join("data").join("hazard-ledger.db").exists());
    // Synthetic hazards carry no ledger entries: never into a database with real data.
    let (code, _, err) = run_in(dir.path(), &["seed", "--demo"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_in(dir.path(), &["generate", "--hazards", "5"]);
    assert_ne!(code, 0);
    assert!(err.contains("fresh database"), "{err}");
    let (code, out, err) = run_in(dir.path(), &["ledger", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    // The database (password hashes, reporters' contacts) is the service user's alone, also
    // in a folder that existed before (a container's volume).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&dir.path().join("data").join("hazard-ledger.db")),
            0o600
        );
        let open = tempfile::tempdir().unwrap();
        std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (code, _, err) = run(
            &["migrate"],
            &[("HAZARD_LEDGER__DATA_DIR", open.path().to_str().unwrap())],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(mode(&open.path().join("hazard-ledger.db")), 0o600);
    }
}

#[test]
fn an_unknown_key_is_named_once_and_a_broken_file_by_its_path() {
    let (code, _, err) = run(&["check-config"], &[("HAZARD_LEDGER__SERVER__LISTN", "x")]);
    assert_config_error(&err, code, "server.listn: unknown key");
    assert!(!err.contains("listn.listn"), "{err}");
    let f = config_file("[server\nlisten = 1\n");
    let path = f.path().to_str().unwrap();
    let (code, _, err) = run(&["--config", path, "check-config"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains(path), "{err}");
}
