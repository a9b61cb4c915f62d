//! argon2id password hashing with the OWASP parameters, off the async threads and
//! limited: each hash holds 19 MiB for its duration, so a flood of sign-ins or sign-ups
//! must not run hundreds at once.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{DomainError, Problem};

/// 19 MiB, 2 iterations, 1 lane (OWASP's argon2id baseline).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The node's password hashing: at most `workers` hashes at once (one per core by
/// default), at most `queue` more waiting; a request beyond that is refused as `Busy`
/// at once, before it costs any memory. Cheap to clone.
#[derive(Clone)]
pub struct Hashing {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
}

impl Hashing {
    /// `workers` hashes at once and `queue` waiting (each at least 1 and 0).
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        Self { running: Arc::new(Semaphore::new(workers)), admitted: Arc::new(Semaphore::new(workers + queue)) }
    }

    /// One worker per core and a queue of 16 per worker.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        Self::new(cores, 16 * cores)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, DomainError> + Send + 'static,
    ) -> Result<T, DomainError> {
        let _admitted = self.admitted.clone().try_acquire_owned().map_err(|_| DomainError::Busy)?;
        let _running = self.running.clone().acquire_owned().await.map_err(DomainError::internal)?;
        tokio::task::spawn_blocking(work).await.map_err(DomainError::internal)?
    }

    /// Hashes a password to a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, DomainError> {
        self.run(move || {
            hasher().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(DomainError::internal)
        })
        .await
    }

    /// Checks a password against a PHC string.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, DomainError> {
        self.run(move || {
            let parsed = PasswordHash::new(&phc).map_err(DomainError::internal)?;
            Ok(hasher().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
    }

    /// A hash of a random password, verified against when the email is unknown, so that
    /// an unknown email takes as long as a wrong password.
    pub async fn decoy(&self) -> Result<String, DomainError> {
        self.hash(crate::sessions::random_token()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_beyond_the_workers_and_the_queue_are_refused_as_busy_and_nothing_else_is() {
        let hashing = Hashing::new(1, 2);
        let attempts = (0..8).map(|i| hashing.hash(format!("password {i}")));
        let outcomes = futures::future::join_all(attempts).await;
        let busy = outcomes.iter().filter(|o| matches!(o, Err(DomainError::Busy))).count();
        assert_eq!(busy, 5, "one running and two waiting were admitted");
        for (i, outcome) in outcomes.iter().enumerate().filter(|(_, o)| o.is_ok()) {
            let phc = outcome.as_ref().unwrap().clone();
            assert!(hashing.verify(format!("password {i}"), phc).await.unwrap());
        }
    }
}

/// The 1,000 most common passwords, most common first (the head of the list zxcvbn ships,
/// itself from leaked password sets), one per line.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Refuses a new password that is easy to guess: one of the 1,000 most common passwords,
/// or one of them with digits or symbols added at the end ("password1234"); the person's own
/// email, its name part, or their name, with or without such an ending; or fewer than four
/// different characters ("aaaaaaaaaaaa").
pub fn check_strength(password: &str, email: &str, name: &str) -> Result<(), DomainError> {
    static COMMON: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| COMMON_PASSWORDS.lines().collect());
    let lowered = password.to_lowercase();
    let stem = lowered.trim_end_matches(|c: char| !c.is_alphabetic());
    let email = email.to_lowercase();
    let local_part = email.split('@').next().unwrap_or_default();
    let own = [email.as_str(), local_part, &name.to_lowercase()];
    let distinct = lowered.chars().collect::<std::collections::HashSet<_>>().len();
    let guessable = COMMON.contains(lowered.as_str())
        || (!stem.is_empty() && COMMON.contains(stem))
        || own.iter().any(|own| !own.is_empty() && (lowered == *own || stem == *own))
        || distinct < 4;
    if guessable {
        return Err(DomainError::invalid(
            "password",
            Problem::new(
                "too_easy",
                "this password is too easy to guess (a common password, a pattern or your own name); try a few unrelated words",
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod strength {
    use super::check_strength;

    #[test]
    fn common_and_patterned_passwords_are_refused_and_unusual_ones_pass() {
        for weak in ["qwertyuiop12", "1qaz2wsx3edc", "aaaaaaaaaaaa", "password1234", "ann@example.com1", "Password!!!!"]
        {
            assert!(check_strength(weak, "ann@example.com", "Ann").is_err(), "{weak} was accepted");
        }
        for fine in ["correct horse battery", "another long secret", "Tr0ub4dor&3xx"] {
            assert!(check_strength(fine, "ann@example.com", "Ann").is_ok(), "{fine} was refused");
        }
    }
}
