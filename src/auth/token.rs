//! Access tokens (HS256 JWTs, checked against our clock) and refresh tokens (random, stored as
//! hashes only).

use std::io::Write;
use std::path::Path;

use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;

/// The one algorithm we issue and accept.
pub const ALGORITHM: Algorithm = Algorithm::HS256;

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Role at issue time (the database decides; this is informative).
    pub role: String,
    /// Organisation code: enterprise id, street code or department code.
    pub org: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The user's token version; a password change or disable bumps it.
    pub tv: i32,
    /// Session (refresh-token family) id; logout revokes it.
    pub sid: String,
    /// A pages session's cookie (`auth.session_days` long): never accepted as a bearer token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub web: bool,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

/// Why an access token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Invalid,
    Expired,
}

impl TokenKeys {
    /// Keys from `auth.jwt_secret`, else from `DATA_DIR/jwt-secret` (generated at first start).
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        Self::from_secret(load_secret(config)?.as_bytes())
    }

    /// Keys from a secret (≥ 32 bytes).
    pub fn from_secret(secret: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(secret.len() >= 32, "JWT secret shorter than 32 bytes");
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        // Expiry is checked against the service clock, not the system clock.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
        })
    }

    /// Signs `claims`.
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(ALGORITHM),
            claims,
            &self.encoding,
        )?)
    }

    /// Checks signature, algorithm and expiry at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.header.alg != ALGORITHM {
            return Err(TokenError::Invalid);
        }
        if now.timestamp() >= data.claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

/// The HMAC secret: `auth.jwt_secret`, else `DATA_DIR/jwt-secret` (generated at first start).
/// Other keys (the tip challenge's) are derived from it.
pub fn load_secret(config: &Config) -> anyhow::Result<String> {
    match &config.auth.jwt_secret {
        Some(s) => Ok(s.clone()),
        None => load_or_create_secret(&config.data_dir.join("jwt-secret")),
    }
}

fn load_or_create_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_string();
        anyhow::ensure!(existing.len() >= 32, "{} is too short", path.display());
        return Ok(existing);
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill(&mut bytes);
    let secret = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "generated a JWT secret");
            Ok(secret)
        }
        // Another instance wrote it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path)?.trim().to_string())
        }
        Err(e) => Err(anyhow::anyhow!("cannot write {}: {e}", path.display())),
    }
}

/// A new refresh token (what the client keeps) and its hash (what we keep).
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "u1".into(),
            role: "admin".into(),
            org: "AJW".into(),
            iat: exp - 900,
            exp,
            jti: "j".into(),
            tv: 0,
            sid: "s".into(),
            web: false,
        }
    }

    #[test]
    fn tokens_round_trip_and_expire_by_the_given_clock() {
        let keys = TokenKeys::from_secret(&[7u8; 32]).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-03-02T01:00:00Z")
            .unwrap()
            .to_utc();
        let t = keys.sign(&claims(now.timestamp() + 60)).unwrap();
        assert_eq!(keys.verify(&t, now).unwrap().sub, "u1");
        let later = now + chrono::Duration::seconds(60);
        assert_eq!(keys.verify(&t, later), Err(TokenError::Expired));
    }

    #[test]
    fn other_secrets_algorithms_and_none_are_refused() {
        let keys = TokenKeys::from_secret(&[7u8; 32]).unwrap();
        let other = TokenKeys::from_secret(&[8u8; 32]).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-03-02T01:00:00Z")
            .unwrap()
            .to_utc();
        let t = other.sign(&claims(now.timestamp() + 60)).unwrap();
        assert_eq!(keys.verify(&t, now), Err(TokenError::Invalid));
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims(now.timestamp() + 60),
            &EncodingKey::from_secret(&[7u8; 32]).unwrap(),
        )
        .unwrap();
        assert_eq!(keys.verify(&hs512, now), Err(TokenError::Invalid));
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(&serde_json::to_string(&claims(now.timestamp() + 60)).unwrap())
        );
        assert_eq!(keys.verify(&none, now), Err(TokenError::Invalid));
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, ha) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_refresh_token(&a), ha);
        assert_eq!(ha.len(), 64);
    }
}
