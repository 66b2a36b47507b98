//! `hazard-ledger user …`: account administration from the command line.

use std::io::Read;

use crate::auth::Hasher;
use crate::auth::accounts::{self, NewUser, UserInput};
use crate::auth::password::generate_password;
use crate::cli::UserCommand;
use crate::config::Config;
use crate::db::{self, users};
use crate::error::AppError;

fn read_password_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let password = text.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}

fn app_error(e: AppError) -> anyhow::Error {
    let fields: Vec<String> = e
        .errors
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    if fields.is_empty() {
        anyhow::anyhow!("{}", e.detail)
    } else {
        anyhow::anyhow!("{}", fields.join("; "))
    }
}

/// Runs a `user` subcommand.
pub fn run(config: &Config, cmd: UserCommand) -> anyhow::Result<()> {
    // Creating a user may start the database (a user made before the first start), but says
    // so: run from the wrong folder, it would otherwise seem to have added the user to the
    // service's data.
    let new_database = match config.database_target()? {
        crate::config::DatabaseTarget::Sqlite(path) if !path.exists() => Some(path),
        _ => None,
    };
    // Changing a password or disabling a user works on the service's data: run from another
    // folder (a relative data_dir), it would otherwise create an empty database and report
    // that the user does not exist.
    let pool = match cmd {
        UserCommand::Create { .. } => db::build_command_pool(config)?,
        UserCommand::Passwd { .. } | UserCommand::Disable { .. } => {
            db::existing_command_pool(config)?
        }
    };
    let mut conn = pool.get()?;
    crate::app::prepare_database(&mut conn)?;
    let hasher = Hasher::new(&config.auth)?;
    let now = crate::clock::Clock::from_config(config)?.now().naive_utc();
    match cmd {
        UserCommand::Create {
            username,
            role,
            org,
            email,
            display_name,
            password_stdin,
        } => {
            let (username, display_name, email, role, target) = accounts::check_user_input(
                &mut conn,
                &UserInput {
                    username: Some(&username),
                    display_name: display_name.as_deref(),
                    email: email.as_deref(),
                    role: Some(&role),
                    org: Some(&org),
                },
            )
            .map_err(app_error)?;
            let (password, generated) = if password_stdin {
                (read_password_stdin()?, false)
            } else {
                (generate_password(), true)
            };
            accounts::check_password(&hasher, &username, &password).map_err(app_error)?;
            let row = db::write_tx(&mut conn, |c| {
                accounts::insert_user(
                    c,
                    NewUser {
                        username: username.clone(),
                        display_name,
                        email,
                        role,
                        target,
                        password_hash: hasher.hash_blocking(&password)?,
                        // A generated password is a one-time handover; a chosen one is kept.
                        must_change_password: generated,
                    },
                    now,
                )
                .map_err(anyhow::Error::from)
            })?;
            crate::out!(
                "created user {} ({}) with id {}",
                row.username,
                row.role,
                row.id
            );
            if let Some(path) = &new_database {
                eprintln!(
                    "note: there was no database at {}: a new one was created with this user \
                     (if the service's data is elsewhere, run this from its folder or set data_dir)",
                    path.display()
                );
            }
            if generated {
                crate::out!("password (shown once; must be changed at first login): {password}");
            }
        }
        UserCommand::Passwd {
            username,
            password_stdin,
        } => {
            let user = users::by_username(&mut conn, &username)?
                .ok_or_else(|| anyhow::anyhow!("no user {username}"))?;
            let (password, generated) = if password_stdin {
                (read_password_stdin()?, false)
            } else {
                (generate_password(), true)
            };
            accounts::check_password(&hasher, &user.username, &password).map_err(app_error)?;
            let changes = users::UserChanges {
                password_hash: Some(hasher.hash_blocking(&password)?),
                must_change_password: Some(generated),
                updated_at: Some(now),
                ..Default::default()
            };
            db::write_tx(&mut conn, |c| {
                users::update(c, &user.id, &changes, true, now)
            })?;
            crate::out!(
                "password of {} changed; every session of the user has ended",
                user.username
            );
            if generated {
                crate::out!(
                    "new password (shown once; must be changed at first login): {password}"
                );
            }
        }
        UserCommand::Disable { username } => {
            let user = users::by_username(&mut conn, &username)?
                .ok_or_else(|| anyhow::anyhow!("no user {username}"))?;
            let changes = users::UserChanges {
                active: Some(false),
                updated_at: Some(now),
                ..Default::default()
            };
            db::write_tx(&mut conn, |c| {
                users::update(c, &user.id, &changes, true, now)
            })?;
            crate::out!(
                "user {} disabled; every session of the user has ended",
                user.username
            );
        }
    }
    Ok(())
}
