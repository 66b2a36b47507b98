//! Passwords: argon2id PHC strings, hashed and verified on the blocking pool with bounded
//! concurrency so that hashing never starves the HTTP workers.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use tokio::sync::Semaphore;

use crate::config::AuthConfig;
use crate::error::{AppError, AppResult, FieldError};

/// Hashes and verifies passwords with the configured argon2id parameters.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, so both cases take the same time.
    dummy_hash: Arc<String>,
    min_length: usize,
}

impl Hasher {
    /// A hasher from `[auth]`.
    pub fn new(config: &AuthConfig) -> anyhow::Result<Self> {
        let params = Params::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("config error: auth.argon2_*: {e}"))?;
        let concurrency = match config.hash_concurrency {
            0 => std::thread::available_parallelism()
                .map_or(1, usize::from)
                .saturating_sub(1)
                .max(1),
            n => n,
        };
        let dummy_hash = hash_with(&params, &generate_password())?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash: Arc::new(dummy_hash),
            min_length: config.password_min_length,
        })
    }

    /// Hashes on the blocking pool.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || hash_with(&params, &password))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)
    }

    /// Verifies on the blocking pool; `None` (no such user) is checked against a dummy hash.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let ok = tokio::task::spawn_blocking(move || verify_blocking(&password, &hash))
            .await
            .unwrap_or(false);
        ok && exists
    }

    /// Hashes synchronously (command line, seeding).
    pub fn hash_blocking(&self, password: &str) -> anyhow::Result<String> {
        hash_with(&self.params, password)
    }

    /// The password rules: long enough, and not made of the username.
    pub fn check_policy(&self, username: &str, password: &str) -> Result<(), FieldError> {
        if password.chars().count() < self.min_length {
            return Err(FieldError::new(
                "password",
                format!("must be at least {} characters", self.min_length),
            ));
        }
        let lower = password.to_lowercase();
        let user = username.to_lowercase();
        if !user.is_empty() && (lower.contains(&user) || user.contains(&lower)) {
            return Err(FieldError::new("password", "must not contain the username"));
        }
        if password
            .chars()
            .all(|c| c == password.chars().next().unwrap_or(' '))
        {
            return Err(FieldError::new(
                "password",
                "must not be one repeated character",
            ));
        }
        Ok(())
    }
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hash: {e}"))?
        .to_string())
}

/// Verifies against a PHC string; its own parameters apply, so old hashes keep working.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A strong random password (20 characters from an unambiguous alphabet).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> Hasher {
        let mut config = crate::config::Config::defaults().auth;
        config.argon2_memory_kib = 1024;
        config.argon2_iterations = 1;
        Hasher::new(&config).unwrap()
    }

    #[test]
    fn hashes_are_argon2id_phc_and_verify() {
        let h = hasher();
        let phc = h.hash_blocking("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
        assert!(verify_blocking("correct horse battery", &phc));
        assert!(!verify_blocking("wrong", &phc));
        assert!(!verify_blocking("x", "not a hash"));
    }

    #[test]
    fn policy_rejects_short_and_username_passwords() {
        let h = hasher();
        assert!(h.check_policy("hy-officer", "short").is_err());
        assert!(h.check_policy("hy-officer", "my-hy-officer-pass").is_err());
        assert!(h.check_policy("hy-officer", "aaaaaaaaaaaaaaaa").is_err());
        assert!(h.check_policy("hy-officer", "Tr0ub4dor&3-horse").is_ok());
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        let h = hasher();
        let p = generate_password();
        assert_eq!(p.len(), 20);
        assert!(h.check_policy("admin", &p).is_ok());
        assert_ne!(p, generate_password());
    }
}
