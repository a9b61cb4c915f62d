//! Rate limits (governor's token buckets: a burst, then a steady rate), chosen so that an
//! attacker cannot turn them against a victim: sign-in attempts are counted per client
//! address and per (address, email), never per email alone, so someone guessing Ann's
//! password from one address slows themselves down while Ann, from hers, signs in.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::DomainError;
use crate::model::UserId;

/// Forget idle entries once a limiter tracks this many keys.
const KEYS_KEPT: usize = 10_000;

/// `burst` at once, then one more every `every`.
fn quota(burst: u32, every: Duration) -> Quota {
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

/// Every limit of one node (each node counts on its own).
pub struct RateLimits {
    on: bool,
    /// Guesses at one account from one address: 10, then one every 6 s.
    sign_in_pair: DefaultKeyedRateLimiter<(IpAddr, String)>,
    /// Sign-ins from one address, whatever the account: 30, then one every 2 s.
    sign_in_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Sign-ins from everywhere: 300, then 100 a second (a ceiling far above real use).
    sign_in_all: DefaultDirectRateLimiter,
    /// Sign-ups from one address: [`SIGN_UPS_PER_HOUR`] at once, then that many an hour.
    sign_up_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Messages one person sends: 200 (a reconnecting client's queue), then 50 a second.
    sends: DefaultKeyedRateLimiter<UserId>,
    /// Chats one person opens: 60, then 2 a second.
    opens: DefaultKeyedRateLimiter<UserId>,
}

/// Sign-ups allowed from one address in an hour, unless configured otherwise.
pub const SIGN_UPS_PER_HOUR: u32 = 60;

impl RateLimits {
    /// The limits above, with `sign_ups_per_hour` sign-ups per address.
    pub fn new(sign_ups_per_hour: u32) -> Self {
        let sign_ups = sign_ups_per_hour.max(1);
        Self {
            on: true,
            sign_in_pair: RateLimiter::keyed(quota(10, Duration::from_secs(6))),
            sign_in_address: RateLimiter::keyed(quota(30, Duration::from_secs(2))),
            sign_in_all: RateLimiter::direct(quota(300, Duration::from_millis(10))),
            sign_up_address: RateLimiter::keyed(quota(sign_ups, Duration::from_secs(3_600) / sign_ups)),
            sends: RateLimiter::keyed(quota(200, Duration::from_millis(20))),
            opens: RateLimiter::keyed(quota(60, Duration::from_millis(500))),
        }
    }

    /// No limits at all (load tests drive thousands of accounts from one address).
    pub fn off() -> Self {
        Self { on: false, ..Self::new(SIGN_UPS_PER_HOUR) }
    }

    /// A sign-in attempt for `email` from `address`.
    pub fn sign_in(&self, address: IpAddr, email: &str) -> Result<(), DomainError> {
        if !self.on {
            return Ok(());
        }
        let email: String = email.trim().to_lowercase().chars().take(crate::input::EMAIL_MAX).collect();
        keep_small(&self.sign_in_pair);
        keep_small(&self.sign_in_address);
        let allowed = self.sign_in_all.check().is_ok()
            && self.sign_in_address.check_key(&address).is_ok()
            && self.sign_in_pair.check_key(&(address, email)).is_ok();
        allowed.then_some(()).ok_or(DomainError::RateLimited)
    }

    /// A sign-up from `address`.
    pub fn sign_up(&self, address: IpAddr) -> Result<(), DomainError> {
        if !self.on {
            return Ok(());
        }
        keep_small(&self.sign_up_address);
        self.sign_up_address.check_key(&address).map_err(|_| DomainError::RateLimited)
    }

    /// A message sent by `user`.
    pub fn send(&self, user: UserId) -> Result<(), DomainError> {
        if !self.on {
            return Ok(());
        }
        keep_small(&self.sends);
        self.sends.check_key(&user).map_err(|_| DomainError::RateLimited)
    }

    /// A chat opened by `user`.
    pub fn open_chat(&self, user: UserId) -> Result<(), DomainError> {
        if !self.on {
            return Ok(());
        }
        keep_small(&self.opens);
        self.opens.check_key(&user).map_err(|_| DomainError::RateLimited)
    }
}

fn keep_small<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>) {
    if limiter.len() > KEYS_KEPT {
        limiter.retain_recent();
    }
}
