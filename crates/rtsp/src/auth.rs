//! Who may watch: Basic and Digest (RFC 2617, MD5, with and without `qop=auth`) logins,
//! checked by a [`Gate`] that the embedding program implements over its own users.
//!
//! The server knows no accounts. It parses the `Authorization` header into a [`Login`]; a
//! Digest login comes with a `proves` function that, given a stored password, says in
//! constant time whether the client's response was computed from it — so the gate can
//! look at every account without the password ever crossing the wire. Nonces are
//! stateless: the time they were issued plus an MD5 MAC of it under a per-process secret,
//! accepted for [`NONCE_LIFETIME`] and answered with `stale=true` after that (clients then
//! retry with a fresh nonce without asking the user again).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use md5::{Digest as _, Md5};
use subtle::ConstantTimeEq as _;

/// How long a nonce is accepted.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// Credentials of a request, as the [`Gate`] sees them.
pub enum Login<'a> {
    /// No `Authorization` header.
    Anonymous,
    /// Basic: the password itself.
    Password {
        /// User name.
        user: &'a str,
        /// Password.
        password: &'a str,
    },
    /// Digest: a proof computed from the password.
    Digest {
        /// User name.
        user: &'a str,
        /// Whether the client's response was computed from this stored password.
        proves: &'a dyn Fn(&str) -> bool,
    },
}

/// A [`Gate`]'s answer to a new login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// May watch.
    Allowed,
    /// Wrong credentials, or a login (or anonymous client) without viewer rights.
    Refused,
    /// Too many failures from this address lately; credentials were not checked.
    RateLimited,
}

/// The embedding program's users and rights.
pub trait Gate: Send + 'static {
    /// Whether `login` from `client` may watch; counts failures against `client`.
    fn admit(&mut self, client: IpAddr, login: &Login<'_>) -> Verdict;
    /// Whether an open session's login may still watch, checked again whenever
    /// [`Gate::epoch`] moves; counts nothing.
    fn still_allowed(&self, login: &Login<'_>) -> bool;
    /// A number that changes whenever users, passwords or access rules change.
    fn epoch(&self) -> u64 {
        0
    }
}

/// A gate that lets everyone watch (tests, examples).
pub struct Open;

impl Gate for Open {
    fn admit(&mut self, _: IpAddr, _: &Login<'_>) -> Verdict {
        Verdict::Allowed
    }
    fn still_allowed(&self, _: &Login<'_>) -> bool {
        true
    }
}

/// The fields of a Digest `Authorization` header that the response depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestFields {
    user: String,
    realm: String,
    nonce: String,
    uri: String,
    response: String,
    qop: Option<(String, String)>,
}

/// Credentials as a session keeps them, to be checked again after access changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// No credentials.
    Anonymous,
    /// Basic.
    Password {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// Digest, with the method token it was computed for.
    Digest(DigestFields, String),
}

impl Stored {
    /// The user name, if any.
    pub fn user(&self) -> Option<&str> {
        match self {
            Stored::Anonymous => None,
            Stored::Password { user, .. } => Some(user),
            Stored::Digest(fields, _) => Some(&fields.user),
        }
    }

    /// Runs `f` with these credentials as a [`Login`].
    pub fn with_login<R>(&self, f: impl FnOnce(&Login<'_>) -> R) -> R {
        match self {
            Stored::Anonymous => f(&Login::Anonymous),
            Stored::Password { user, password } => f(&Login::Password { user, password }),
            Stored::Digest(fields, method) => {
                let proves = |password: &str| fields.proves(method, password);
                f(&Login::Digest {
                    user: &fields.user,
                    proves: &proves,
                })
            }
        }
    }
}

impl DigestFields {
    /// Whether `response` is the RFC 2617 response for `password` and request `method`.
    fn proves(&self, method: &str, password: &str) -> bool {
        let ha1 = md5_hex(&[&self.user, ":", &self.realm, ":", password]);
        let ha2 = md5_hex(&[method, ":", &self.uri]);
        let expected = match &self.qop {
            Some((nc, cnonce)) => {
                md5_hex(&[&ha1, ":", &self.nonce, ":", nc, ":", cnonce, ":auth:", &ha2])
            }
            None => md5_hex(&[&ha1, ":", &self.nonce, ":", &ha2]),
        };
        bool::from(
            expected
                .as_bytes()
                .ct_eq(self.response.to_ascii_lowercase().as_bytes()),
        )
    }
}

/// Why an `Authorization` header is not accepted as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Malformed, another scheme or algorithm, or another realm: `401` with a challenge.
    Malformed,
    /// A Digest nonce that expired or was not ours: `401` with `stale=true`.
    StaleNonce,
}

/// Issues and checks nonces; parses `Authorization` headers.
pub struct Authenticator {
    realm: String,
    secret: [u8; 16],
    epoch: Instant,
}

impl Authenticator {
    /// An authenticator for `realm` with a fresh secret.
    pub fn new(realm: &str) -> Self {
        let mut secret = [0u8; 16];
        if getrandom::getrandom(&mut secret).is_err() {
            // Without an OS generator the nonces are still bound to this process's start.
            secret[..8].copy_from_slice(&(std::process::id() as u64).to_le_bytes());
        }
        Authenticator {
            realm: realm.to_owned(),
            secret,
            epoch: Instant::now(),
        }
    }

    /// The `WWW-Authenticate` header values of a `401`: Digest first (clients take the
    /// strongest they know), then Basic for NVRs that know only that.
    pub fn challenges(&self, stale: bool) -> [String; 2] {
        let nonce = self.nonce(self.epoch.elapsed().as_secs());
        let stale = if stale { ", stale=TRUE" } else { "" };
        [
            format!(
                "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{stale}",
                self.realm
            ),
            format!("Basic realm=\"{}\"", self.realm),
        ]
    }

    fn nonce(&self, issued: u64) -> String {
        let issued = format!("{issued:x}");
        let mac = md5_hex_bytes(&[&self.secret, issued.as_bytes()]);
        format!("{issued}.{mac}")
    }

    fn nonce_is_fresh(&self, nonce: &str) -> bool {
        let Some((issued, _)) = nonce.split_once('.') else {
            return false;
        };
        let Ok(issued) = u64::from_str_radix(issued, 16) else {
            return false;
        };
        let genuine = bool::from(self.nonce(issued).as_bytes().ct_eq(nonce.as_bytes()));
        let age = self.epoch.elapsed().as_secs().saturating_sub(issued);
        genuine && age <= NONCE_LIFETIME.as_secs()
    }

    /// Reads an `Authorization` header (absent = anonymous) of a request with `method`.
    pub fn read(&self, header: Option<&str>, method: &str) -> Result<Stored, Unusable> {
        let Some(header) = header else {
            return Ok(Stored::Anonymous);
        };
        let (scheme, rest) = header.trim().split_once(' ').ok_or(Unusable::Malformed)?;
        if scheme.eq_ignore_ascii_case("Basic") {
            return basic(rest.trim()).ok_or(Unusable::Malformed);
        }
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(Unusable::Malformed);
        }
        let fields = digest_fields(rest).ok_or(Unusable::Malformed)?;
        if fields.realm != self.realm {
            return Err(Unusable::Malformed);
        }
        if !self.nonce_is_fresh(&fields.nonce) {
            return Err(Unusable::StaleNonce);
        }
        Ok(Stored::Digest(fields, method.to_owned()))
    }
}

fn basic(encoded: &str) -> Option<Stored> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some(Stored::Password {
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

/// Parses `name=value, name="quoted value", ...`.
fn digest_fields(text: &str) -> Option<DigestFields> {
    let mut fields = std::collections::HashMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        fields.insert(name, value.to_owned());
        rest = after.trim_start().trim_start_matches(',').trim_start();
    }
    if let Some(algorithm) = fields.get("algorithm") {
        if !algorithm.eq_ignore_ascii_case("MD5") {
            return None;
        }
    }
    let qop = match fields.get("qop").map(String::as_str) {
        None => None,
        Some("auth") => Some((fields.remove("nc")?, fields.remove("cnonce")?)),
        Some(_) => return None,
    };
    Some(DigestFields {
        user: fields.remove("username")?,
        realm: fields.remove("realm")?,
        nonce: fields.remove("nonce")?,
        uri: fields.remove("uri")?,
        response: fields.remove("response")?,
        qop,
    })
}

fn md5_hex(parts: &[&str]) -> String {
    let bytes: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    md5_hex_bytes(&bytes)
}

fn md5_hex_bytes(parts: &[&[u8]]) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonce_of(challenge: &str) -> &str {
        let start = challenge.find("nonce=\"").unwrap() + 7;
        let end = start + challenge[start..].find('"').unwrap();
        &challenge[start..end]
    }

    /// The response a client computes, written out from RFC 2617 3.2.2.1.
    fn client_response(nonce: &str, password: &str, qop: Option<(&str, &str)>) -> String {
        let ha1 = md5_hex(&["alice", ":", "ipcam", ":", password]);
        let ha2 = md5_hex(&["DESCRIBE", ":", "rtsp://cam/live"]);
        match qop {
            Some((nc, cnonce)) => {
                md5_hex(&[&ha1, ":", nonce, ":", nc, ":", cnonce, ":auth:", &ha2])
            }
            None => md5_hex(&[&ha1, ":", nonce, ":", &ha2]),
        }
    }

    fn proves(stored: &Stored, password: &str) -> bool {
        stored.with_login(|login| match login {
            Login::Digest { proves, .. } => proves(password),
            _ => panic!("not digest"),
        })
    }

    #[test]
    fn rfc_2617_example_response() {
        // RFC 2617 3.5: Mufasa / Circle Of Life, with qop=auth.
        let fields = DigestFields {
            user: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            uri: "/dir/index.html".into(),
            response: "6629fae49393a05397450978507c4ef1".into(),
            qop: Some(("00000001".into(), "0a4f113b".into())),
        };
        assert!(fields.proves("GET", "Circle Of Life"));
        assert!(!fields.proves("GET", "circle of life"));
    }

    #[test]
    fn digest_with_and_without_qop_proves_the_password() {
        let auth = Authenticator::new("ipcam");
        let [digest, basic] = auth.challenges(false);
        assert!(basic.starts_with("Basic realm=\"ipcam\""));
        let nonce = nonce_of(&digest).to_owned();
        let with_qop = format!(
            "Digest username=\"alice\", realm=\"ipcam\", nonce=\"{nonce}\", uri=\"rtsp://cam/live\", \
             response=\"{}\", qop=auth, nc=00000001, cnonce=\"abc\", algorithm=MD5",
            client_response(&nonce, "secret", Some(("00000001", "abc")))
        );
        let stored = auth.read(Some(&with_qop), "DESCRIBE").unwrap();
        assert!(proves(&stored, "secret"));
        assert!(!proves(&stored, "other"));
        let without = format!(
            "Digest username=\"alice\", realm=\"ipcam\", nonce=\"{nonce}\", uri=\"rtsp://cam/live\", response=\"{}\"",
            client_response(&nonce, "secret", None)
        );
        let stored = auth.read(Some(&without), "DESCRIBE").unwrap();
        assert!(proves(&stored, "secret"));
        assert_eq!(stored.user(), Some("alice"));
    }

    #[test]
    fn forged_or_foreign_nonces_are_stale() {
        let auth = Authenticator::new("ipcam");
        let other = Authenticator::new("ipcam");
        let nonce = nonce_of(&other.challenges(false)[0]).to_owned();
        let header = format!(
            "Digest username=\"alice\", realm=\"ipcam\", nonce=\"{nonce}\", uri=\"u\", response=\"00\""
        );
        assert_eq!(
            auth.read(Some(&header), "DESCRIBE"),
            Err(Unusable::StaleNonce)
        );
        let old = auth.nonce(0);
        assert!(auth.nonce_is_fresh(&old));
        assert!(!auth.nonce_is_fresh(&format!("{old}0")));
    }

    #[test]
    fn basic_and_malformed_headers() {
        let auth = Authenticator::new("ipcam");
        assert_eq!(
            auth.read(Some("Basic YWxpY2U6cHc6eA=="), "PLAY"),
            Ok(Stored::Password {
                user: "alice".into(),
                password: "pw:x".into()
            })
        );
        for header in [
            "Basic !!!",
            "Bearer x",
            "Digest username=\"a\"",
            "Digest username=\"a\", realm=\"other\", nonce=\"n\", uri=\"u\", response=\"r\"",
            "Digest username=\"a\", realm=\"ipcam\", nonce=\"n\", uri=\"u\", response=\"r\", algorithm=SHA-256",
        ] {
            assert_eq!(
                auth.read(Some(header), "PLAY"),
                Err(Unusable::Malformed),
                "{header}"
            );
        }
        assert_eq!(auth.read(None, "PLAY"), Ok(Stored::Anonymous));
    }
}
