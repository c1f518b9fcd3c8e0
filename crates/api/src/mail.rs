//! The e-mail address rule of `/email.cgi`, shared with the mailer so that an address
//! this crate accepts is one the e-mail worker can send to.
//!
//! The mailer (`ipcam-events`) hands each address to lettre's `Address` parser, which
//! delegates to the `email_address` crate. [`check_address`] is that rule written out,
//! so that this crate needs no mail stack:
//! - `local@domain`, split at the last `@`;
//! - the local part is at most 64 bytes: a dot-atom (RFC 5322 `atext`, letters and digits
//!   of any script, no empty atom) or a quoted string (`"..."` with `\` escapes);
//! - the domain is at most 254 bytes: dot-separated labels of `atext`, each 1 to 63 bytes
//!   and beginning and ending with a letter or digit; or a literal `[...]`; or a bare
//!   IPv4/IPv6 address.
//!
//! lettre additionally retries a refused domain after IDNA mapping, which rescues only
//! labels that begin or end with a character IDNA removes or maps (a soft hyphen, say);
//! those are refused here. So every address accepted here is accepted by the mailer, and
//! the mailer's tests check the two agree on a corpus of edge cases.
//!
//! `EmailReceiverAddress` may hold several addresses separated by `,` or `;`
//! ([`addresses`]); both crates split with that one function.

use std::net::IpAddr;

/// Longest local part in bytes (RFC 5321 4.5.3.1.1).
const LOCAL_PART_MAX: usize = 64;
/// Longest domain in bytes.
const DOMAIN_MAX: usize = 254;
/// Longest domain label in bytes (RFC 1035 2.3.4).
const LABEL_MAX: usize = 63;

/// Why a text is not an e-mail address; the message never repeats the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// No `@`.
    #[error("is not an e-mail address (name@domain)")]
    MissingAt,
    /// The part before the last `@` is empty, too long or has a character not allowed.
    #[error("has an invalid name before @")]
    LocalPart,
    /// The part after the last `@` is not a domain name or an IP address.
    #[error("has an invalid domain after @")]
    Domain,
}

/// The addresses of a list separated by `,` or `;`, trimmed; empty entries (a trailing
/// separator) are skipped.
pub fn addresses(list: &str) -> impl Iterator<Item = &str> {
    list.split([',', ';'])
        .map(str::trim)
        .filter(|address| !address.is_empty())
}

/// Checks one address (see the module documentation for the rule).
pub fn check_address(address: &str) -> Result<(), AddressError> {
    let (local, domain) = address.rsplit_once('@').ok_or(AddressError::MissingAt)?;
    if !is_local_part(local) {
        return Err(AddressError::LocalPart);
    }
    if !is_domain(domain) && !is_ip(domain) {
        return Err(AddressError::Domain);
    }
    Ok(())
}

fn is_local_part(local: &str) -> bool {
    if local.is_empty() || local.len() > LOCAL_PART_MAX {
        return false;
    }
    match local.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => !quoted.is_empty() && is_quoted_content(quoted),
        None => local.split('.').all(is_atom),
    }
}

/// `qcontent` with spaces: printable ASCII but `"` and `\`, or a `\` escaping a
/// printable ASCII character, or anything outside ASCII.
fn is_quoted_content(quoted: &str) -> bool {
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        let ok = match c {
            '\\' => chars.next().is_some_and(|e| e.is_ascii_graphic()),
            ' ' | '\t' => true,
            '"' => false,
            c => c.is_ascii_graphic() || !c.is_ascii(),
        };
        if !ok {
            return false;
        }
    }
    true
}

fn is_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > DOMAIN_MAX {
        return false;
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return literal.chars().all(is_dtext);
    }
    domain.split('.').all(|label| {
        label.len() <= LABEL_MAX
            && label.starts_with(char::is_alphanumeric)
            && label.ends_with(char::is_alphanumeric)
            && is_atom(label)
    })
}

fn is_ip(domain: &str) -> bool {
    let bare = domain
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(domain);
    bare.parse::<IpAddr>().is_ok()
}

fn is_atom(atom: &str) -> bool {
    !atom.is_empty() && atom.chars().all(is_atext)
}

/// RFC 5322 `atext`, extended to every non-ASCII character as RFC 6531 does.
fn is_atext(c: char) -> bool {
    c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// `dtext`: printable ASCII but `[`, `\` and `]`, or anything outside ASCII.
fn is_dtext(c: char) -> bool {
    (c.is_ascii_graphic() && !"[\\]".contains(c)) || !c.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_pass() {
        for good in [
            "me@example.com",
            "first.last+tag@mail.example.co.uk",
            "o'brien@example.ie",
            "user@localhost",
            "user@192.0.2.1",
            "user@[192.0.2.1]",
            "user@2001:db8::1",
            "user@[IPv6:2001:db8::1]",
            "\"john doe\"@example.com",
            "\"a\\\"b\"@example.com",
            "jörg@bücher.de",
            "a@b",
        ] {
            assert_eq!(check_address(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn each_broken_part_is_named() {
        for (bad, why) in [
            ("typo", AddressError::MissingAt),
            ("", AddressError::MissingAt),
            ("owner@", AddressError::Domain),
            ("@example.com", AddressError::LocalPart),
            ("me@example.com;typo", AddressError::Domain),
            ("john doe@example.com", AddressError::LocalPart),
            ("a..b@example.com", AddressError::LocalPart),
            (".a@example.com", AddressError::LocalPart),
            ("a.@example.com", AddressError::LocalPart),
            ("\"\"@example.com", AddressError::LocalPart),
            ("\"a\"b\"@example.com", AddressError::LocalPart),
            ("me<x>@example.com", AddressError::LocalPart),
            ("me@example..com", AddressError::Domain),
            ("me@example.com.", AddressError::Domain),
            ("me@-example.com", AddressError::Domain),
            ("me@example-.com", AddressError::Domain),
            ("me@exa mple.com", AddressError::Domain),
            ("me@[a[b]", AddressError::Domain),
            ("Me <me@example.com>", AddressError::LocalPart),
        ] {
            assert_eq!(check_address(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn lengths_are_counted_in_bytes() {
        let local = "u".repeat(LOCAL_PART_MAX);
        assert_eq!(check_address(&format!("{local}@example.com")), Ok(()));
        assert_eq!(
            check_address(&format!("{local}u@example.com")),
            Err(AddressError::LocalPart)
        );
        let label = "d".repeat(LABEL_MAX);
        assert_eq!(check_address(&format!("me@{label}.com")), Ok(()));
        assert_eq!(
            check_address(&format!("me@{label}d.com")),
            Err(AddressError::Domain)
        );
        assert_eq!(
            check_address(&format!("me@{}.com", "é".repeat(32))),
            Err(AddressError::Domain),
            "64 bytes"
        );
    }

    #[test]
    fn lists_split_on_commas_and_semicolons() {
        let list: Vec<&str> = addresses(" a@example.com; b@example.com,,c@x ;").collect();
        assert_eq!(list, ["a@example.com", "b@example.com", "c@x"]);
        assert_eq!(addresses(" ; ").count(), 0);
    }
}
