//! The first start: with no user at all, create `admin` so the one-command start leads somewhere.

use crate::app::AppState;
use crate::auth::accounts::{self, NewUser};
use crate::auth::password::generate_password;
use crate::db::{self, users};
use crate::domain::hazard::Role;
use crate::policy::TargetOrg;

/// Creates `admin` (district office organisation) with a generated password printed once to
/// the console, to be changed at first login. Does nothing when any user exists.
pub fn first_admin(state: &AppState) -> anyhow::Result<()> {
    let mut conn = state.pool.get()?;
    let password = generate_password();
    let hash = state.auth.hasher.hash_blocking(&password)?;
    let now = state.clock.now().naive_utc();
    let created = db::with_instance_lock(&mut conn, |conn| {
        if !users::none_exist(conn)? {
            return Ok(false);
        }
        let office = crate::db::reference::list_departments(conn)?
            .into_iter()
            .find(|d| d.kind == "district_office")
            .ok_or_else(|| anyhow::anyhow!("no district office in the reference data"))?;
        accounts::insert_user(
            conn,
            NewUser {
                username: "admin".into(),
                display_name: "系统管理员".into(),
                email: None,
                role: Role::Admin,
                target: TargetOrg {
                    org: crate::auth::Org::Department(office.code),
                    street: None,
                    department_kind: Some(office.kind),
                },
                password_hash: hash,
                must_change_password: true,
            },
            now,
        )?;
        Ok(true)
    })?;
    if created {
        // Shown once, on the console only; never logged.
        println!(
            "\n  First start: created the administrator account.\n    username: admin\n    password: {password}\n  Log in (POST /api/v1/auth/login) and change it (POST /api/v1/auth/password).\n"
        );
    }
    Ok(())
}
