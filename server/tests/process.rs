//! The `messenger` binary as an operator runs it: configuration errors, first start,
//! graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn messenger() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_messenger"));
    // Start from a clean environment so a developer's .env or variables do not leak in.
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = messenger().current_dir(dir.path()).env("PORT", "eighty").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim(), r#"configuration error: PORT: expected a port number from 0 to 65535, got "eighty""#);
}

#[test]
fn the_first_start_prints_the_admin_password_once_and_sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        messenger()
            .current_dir(dir.path())
            .env("PORT", free_port().to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let read_until_running = |child: &mut std::process::Child| {
        let mut lines = Vec::new();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        loop {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "exited early: {lines:?}");
            let running = line.starts_with("Messenger is running on http://127.0.0.1:");
            lines.push(line);
            if running {
                return lines.concat();
            }
        }
    };
    let stop = |child: &mut std::process::Child| {
        let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
        assert!(status.success());
        for _ in 0..100 {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        child.kill().unwrap();
        panic!("still running 10 s after SIGTERM");
    };

    let mut first = start();
    let printed = read_until_running(&mut first);
    assert!(printed.contains("email:    admin@localhost"), "{printed}");
    assert!(printed.contains("This password is shown only once."), "{printed}");
    assert!(stop(&mut first).success());
    // The default database is a SQLite file under ./data.
    assert!(dir.path().join("data/messenger.db").exists());

    let mut second = start();
    let printed = read_until_running(&mut second);
    assert!(!printed.contains("password"), "the password is printed only at the first start: {printed}");
    let status = stop(&mut second);
    assert!(status.success(), "{status:?}");
}

#[test]
fn with_log_format_json_every_log_line_is_a_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = messenger()
        .current_dir(dir.path())
        .env("PORT", free_port().to_string())
        .env("RUST_LOG", "info")
        .env("LOG_FORMAT", "json")
        .env("ADMIN_PASSWORD", "admin-password-1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut logs = Vec::new();
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "exited early: {logs:?}");
        if line.starts_with("Messenger is running") {
            break;
        }
        logs.push(line);
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(!logs.is_empty(), "start-up logs something (the administrator it created)");
    for line in &logs {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(event["level"].is_string() && event["fields"]["message"].is_string(), "{line}");
    }
}
