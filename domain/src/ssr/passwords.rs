//! argon2id password hashing with the OWASP parameters, always off the async threads.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::DomainError;

/// 19 MiB, 2 iterations, 1 lane (OWASP's argon2id baseline).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password to a PHC string on the blocking pool.
pub async fn hash(password: String) -> Result<String, DomainError> {
    tokio::task::spawn_blocking(move || {
        hasher().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(DomainError::internal)
    })
    .await
    .map_err(DomainError::internal)?
}

/// Checks a password against a PHC string on the blocking pool.
pub async fn verify(password: String, phc: String) -> Result<bool, DomainError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(DomainError::internal)?;
        Ok(hasher().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(DomainError::internal)?
}

/// A hash of a random password, verified against when the email is unknown, so that an
/// unknown email takes as long as a wrong password.
pub async fn decoy() -> Result<String, DomainError> {
    hash(crate::sessions::random_token()).await
}
