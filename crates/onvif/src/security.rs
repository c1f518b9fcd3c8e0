//! WS-Security UsernameToken: the login ONVIF clients send inside the SOAP header.
//!
//! With `#PasswordDigest` the client proves the password without sending it:
//! `Base64(SHA-1(nonce + created + password))`, where `nonce` is the decoded nonce and
//! `created` the timestamp text as sent. Such a proof could be replayed by anyone who saw
//! it, so a token is accepted only while its `Created` time is within
//! [`FRESHNESS`] of the camera's clock, and each nonce only once in that time (the
//! [`NonceCache`] remembers the nonces of accepted tokens, bounded). `#PasswordText`
//! carries the password itself and is checked like a Basic login.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha1::{Digest as _, Sha1};
use subtle::ConstantTimeEq as _;

use crate::soap::UsernameToken;

/// How far a token's `Created` may be from the camera's clock, either way.
pub const FRESHNESS: Duration = Duration::from_secs(5 * 60);
/// Most nonces remembered; past it the oldest is forgotten first.
pub const NONCE_CACHE_CAPACITY: usize = 4096;

/// Why a token is not even checked against the accounts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// A digest without nonce or created, or a nonce that is not Base64.
    #[error("the UsernameToken lacks a Base64 Nonce or a Created time")]
    Incomplete,
    /// `Created` does not parse as an xs:dateTime.
    #[error("the UsernameToken's Created time is not a date")]
    BadCreated,
    /// `Created` is outside the freshness window.
    #[error("the UsernameToken is too old or from the future (check the clocks)")]
    Stale,
    /// The nonce was used already.
    #[error("the UsernameToken's nonce was used before")]
    Replayed,
}

/// The WS-Security password digest of `password` for `nonce` (decoded) and `created`.
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> [u8; 20] {
    let mut sha = Sha1::new();
    sha.update(nonce);
    sha.update(created.as_bytes());
    sha.update(password.as_bytes());
    sha.finalize().into()
}

/// A checked-for-freshness token, ready to be matched against stored passwords.
#[derive(Debug)]
pub struct Proof<'a> {
    token: &'a UsernameToken,
    nonce: Vec<u8>,
    claimed: Vec<u8>,
}

impl<'a> Proof<'a> {
    /// Checks the token's form, freshness and nonce (not the password) at camera time `now`.
    pub fn new(
        token: &'a UsernameToken,
        now: SystemTime,
        seen: &NonceCache,
    ) -> Result<Proof<'a>, TokenError> {
        if !token.digest {
            return Ok(Proof {
                token,
                nonce: Vec::new(),
                claimed: Vec::new(),
            });
        }
        let (Some(nonce), Some(created)) = (&token.nonce, &token.created) else {
            return Err(TokenError::Incomplete);
        };
        let nonce = BASE64
            .decode(nonce.trim())
            .map_err(|_| TokenError::Incomplete)?;
        let claimed = BASE64
            .decode(token.password.trim())
            .map_err(|_| TokenError::Incomplete)?;
        let created_at = chrono::DateTime::parse_from_rfc3339(created.trim())
            .map_err(|_| TokenError::BadCreated)?;
        let created_at = SystemTime::from(created_at);
        let skew = now
            .duration_since(created_at)
            .unwrap_or_else(|ahead| ahead.duration());
        if skew > FRESHNESS {
            return Err(TokenError::Stale);
        }
        if seen.contains(&nonce) {
            return Err(TokenError::Replayed);
        }
        Ok(Proof {
            token,
            nonce,
            claimed,
        })
    }

    /// The user name the token claims.
    pub fn username(&self) -> &str {
        &self.token.username
    }

    /// Whether the token proves `stored` (in constant time for equal lengths).
    pub fn proves(&self, stored: &str) -> bool {
        if self.token.digest {
            let created = self.token.created.as_deref().unwrap_or_default().trim();
            let digest = password_digest(&self.nonce, created, stored);
            bool::from(digest.as_slice().ct_eq(&self.claimed))
        } else {
            bool::from(stored.as_bytes().ct_eq(self.token.password.as_bytes()))
        }
    }

    /// Remembers this token's nonce, once it has logged in.
    pub fn consume(&self, seen: &mut NonceCache, now: SystemTime) {
        if self.token.digest {
            seen.insert(self.nonce.clone(), now);
        }
    }
}

/// Nonces of accepted digests, kept for [`FRESHNESS`], at most [`NONCE_CACHE_CAPACITY`].
#[derive(Debug, Default)]
pub struct NonceCache {
    order: VecDeque<(SystemTime, Vec<u8>)>,
    set: HashSet<Vec<u8>>,
}

impl NonceCache {
    /// Whether `nonce` was accepted within the window.
    pub fn contains(&self, nonce: &[u8]) -> bool {
        self.set.contains(nonce)
    }

    /// Remembers `nonce`, forgetting those past the window and, when full, the oldest.
    pub fn insert(&mut self, nonce: Vec<u8>, now: SystemTime) {
        while let Some((at, _)) = self.order.front() {
            let expired = now.duration_since(*at).is_ok_and(|age| age > 2 * FRESHNESS);
            if !expired && self.order.len() < NONCE_CACHE_CAPACITY {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        if self.set.insert(nonce.clone()) {
            self.order.push_back((now, nonce));
        }
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the ONVIF Application Programmer's Guide (6.1.1.3): user "user",
    /// password "userpassword".
    const NONCE: &str = "LKqI6G/AikKCQrN0zqZFlg==";
    const CREATED: &str = "2010-09-16T07:50:45Z";
    const DIGEST: &str = "tuOSpGlFlIXsozq4HFNeeGeFLEI=";

    fn token(password: &str, digest: bool) -> UsernameToken {
        UsernameToken {
            username: "user".into(),
            password: password.into(),
            digest,
            nonce: Some(NONCE.into()),
            created: Some(CREATED.into()),
        }
    }

    fn created_time() -> SystemTime {
        chrono::DateTime::parse_from_rfc3339(CREATED)
            .unwrap()
            .into()
    }

    #[test]
    fn the_programmers_guide_example_digest_matches() {
        let nonce = BASE64.decode(NONCE).unwrap();
        let digest = password_digest(&nonce, CREATED, "userpassword");
        assert_eq!(BASE64.encode(digest), DIGEST);
        let token = token(DIGEST, true);
        let proof = Proof::new(&token, created_time(), &NonceCache::default()).unwrap();
        assert!(proof.proves("userpassword"));
        assert!(!proof.proves("userpasswore"));
        assert_eq!(proof.username(), "user");
    }

    #[test]
    fn stale_or_future_tokens_are_refused() {
        let token = token(DIGEST, true);
        let seen = NonceCache::default();
        let late = created_time() + FRESHNESS + Duration::from_secs(1);
        assert_eq!(
            Proof::new(&token, late, &seen).unwrap_err(),
            TokenError::Stale
        );
        let early = created_time() - FRESHNESS - Duration::from_secs(1);
        assert_eq!(
            Proof::new(&token, early, &seen).unwrap_err(),
            TokenError::Stale
        );
        let inside = created_time() + FRESHNESS - Duration::from_secs(1);
        assert!(Proof::new(&token, inside, &seen).is_ok());
    }

    #[test]
    fn a_nonce_is_accepted_once() {
        let token = token(DIGEST, true);
        let mut seen = NonceCache::default();
        let proof = Proof::new(&token, created_time(), &seen).unwrap();
        proof.consume(&mut seen, created_time());
        assert_eq!(
            Proof::new(&token, created_time(), &seen).unwrap_err(),
            TokenError::Replayed
        );
    }

    #[test]
    fn incomplete_digests_are_refused_and_text_passwords_compare_directly() {
        let mut missing = token(DIGEST, true);
        missing.nonce = None;
        let seen = NonceCache::default();
        assert_eq!(
            Proof::new(&missing, created_time(), &seen).unwrap_err(),
            TokenError::Incomplete
        );
        let mut bad_date = token(DIGEST, true);
        bad_date.created = Some("yesterday".into());
        assert_eq!(
            Proof::new(&bad_date, created_time(), &seen).unwrap_err(),
            TokenError::BadCreated
        );
        let text = token("userpassword", false);
        let proof = Proof::new(&text, SystemTime::now(), &seen).unwrap();
        assert!(proof.proves("userpassword") && !proof.proves("other"));
    }

    #[test]
    fn the_nonce_cache_is_bounded_and_forgets_expired_nonces() {
        let mut seen = NonceCache::default();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for i in 0..NONCE_CACHE_CAPACITY + 10 {
            seen.insert((i as u32).to_be_bytes().to_vec(), start);
        }
        assert_eq!(seen.len(), NONCE_CACHE_CAPACITY);
        assert!(!seen.contains(&0u32.to_be_bytes()));
        assert!(seen.contains(&((NONCE_CACHE_CAPACITY + 9) as u32).to_be_bytes()));
        seen.insert(b"late".to_vec(), start + 3 * FRESHNESS);
        assert_eq!(seen.len(), 1);
    }
}
