//! The dyndns2 return codes, and what each means for the next update.
//!
//! A dyndns2 server answers every update with HTTP 200 and a body of one line per host
//! name: a code, and for `good`/`nochg` the address the name now has. Some servers send
//! a 401 with `badauth`, or a bare 401; both mean the same. What the updater does next
//! depends only on the code ([`Answer::outcome`]): success, stop until the owner changes
//! the settings (sending the same request again would be abusive), or retry later.

use std::fmt;
use std::net::IpAddr;

/// One answer of a dyndns2 server, as the protocol names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `good [IP]`: the name now points at the address.
    Good(Option<IpAddr>),
    /// `nochg [IP]`: the name already pointed at the address (repeating this is abusive).
    NoChange(Option<IpAddr>),
    /// `badauth`: the user name or password is wrong.
    BadAuth,
    /// `notfqdn`: the host name is not a fully-qualified domain name.
    NotFqdn,
    /// `nohost`: no such host name in this account.
    NoHost,
    /// `numhost`: too many host names, or a round-robin name.
    NumHost,
    /// `abuse`: the name is blocked for abuse.
    Abuse,
    /// `badagent`: the server refuses this client (User-Agent or request).
    BadAgent,
    /// `!donator`: the request uses a feature of paid accounts.
    NotDonator,
    /// `!yours`: the host name belongs to another account.
    NotYours,
    /// `dnserr`: the server's DNS failed; try later.
    DnsError,
    /// `911`: trouble or maintenance at the provider; try later.
    ServerTrouble,
}

/// What an answer means for the updater.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The name points at the camera.
    Success,
    /// The same request would fail again: stop until the settings change.
    Fatal,
    /// A passing failure: back off and try again.
    Retry,
}

impl Answer {
    /// Reads an answer from the HTTP status and body; `None` if it is not dyndns2.
    pub fn parse(status: u16, body: &str) -> Option<Answer> {
        let line = body.lines().map(str::trim).find(|line| !line.is_empty());
        let Some(line) = line else {
            return (status == 401).then_some(Answer::BadAuth);
        };
        let (code, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let address = || rest.split_whitespace().next()?.parse().ok();
        Some(match code {
            "good" => Answer::Good(address()),
            "nochg" => Answer::NoChange(address()),
            "badauth" => Answer::BadAuth,
            "notfqdn" => Answer::NotFqdn,
            "nohost" => Answer::NoHost,
            "numhost" => Answer::NumHost,
            "abuse" => Answer::Abuse,
            "badagent" => Answer::BadAgent,
            "!donator" => Answer::NotDonator,
            "!yours" => Answer::NotYours,
            "dnserr" => Answer::DnsError,
            "911" => Answer::ServerTrouble,
            _ if status == 401 => Answer::BadAuth,
            _ => return None,
        })
    }

    /// What the updater does after this answer.
    pub fn outcome(&self) -> Outcome {
        match self {
            Answer::Good(_) | Answer::NoChange(_) => Outcome::Success,
            Answer::DnsError | Answer::ServerTrouble => Outcome::Retry,
            Answer::BadAuth
            | Answer::NotFqdn
            | Answer::NoHost
            | Answer::NumHost
            | Answer::Abuse
            | Answer::BadAgent
            | Answer::NotDonator
            | Answer::NotYours => Outcome::Fatal,
        }
    }

    /// The protocol's code word (`good`, `badauth`, `!donator`...).
    pub fn code(&self) -> &'static str {
        match self {
            Answer::Good(_) => "good",
            Answer::NoChange(_) => "nochg",
            Answer::BadAuth => "badauth",
            Answer::NotFqdn => "notfqdn",
            Answer::NoHost => "nohost",
            Answer::NumHost => "numhost",
            Answer::Abuse => "abuse",
            Answer::BadAgent => "badagent",
            Answer::NotDonator => "!donator",
            Answer::NotYours => "!yours",
            Answer::DnsError => "dnserr",
            Answer::ServerTrouble => "911",
        }
    }

    /// What the code means, for the log.
    pub fn meaning(&self) -> &'static str {
        match self {
            Answer::Good(_) => "updated",
            Answer::NoChange(_) => "already up to date",
            Answer::BadAuth => "user name or password rejected",
            Answer::NotFqdn => "the host name is not a fully-qualified domain name",
            Answer::NoHost => "no such host name in this account",
            Answer::NumHost => "too many host names, or a round-robin name",
            Answer::Abuse => "the host name is blocked for abuse",
            Answer::BadAgent => "the provider refuses this client",
            Answer::NotDonator => "a paid feature on a free account",
            Answer::NotYours => "the host name belongs to another account",
            Answer::DnsError => "DNS error at the provider",
            Answer::ServerTrouble => "trouble or maintenance at the provider",
        }
    }
}

impl fmt::Display for Answer {
    /// The code and, for `good`/`nochg`, the address: `good 203.0.113.7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Good(Some(ip)) | Answer::NoChange(Some(ip)) => {
                write!(f, "{} {ip}", self.code())
            }
            _ => f.write_str(self.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_return_code_of_the_protocol_is_read() {
        let ip: IpAddr = "203.0.113.7".parse().expect("ip");
        let cases = [
            ("good 203.0.113.7", Answer::Good(Some(ip)), Outcome::Success),
            (
                "nochg 203.0.113.7\n",
                Answer::NoChange(Some(ip)),
                Outcome::Success,
            ),
            ("good", Answer::Good(None), Outcome::Success),
            ("badauth", Answer::BadAuth, Outcome::Fatal),
            ("notfqdn", Answer::NotFqdn, Outcome::Fatal),
            ("nohost", Answer::NoHost, Outcome::Fatal),
            ("numhost", Answer::NumHost, Outcome::Fatal),
            ("abuse", Answer::Abuse, Outcome::Fatal),
            ("badagent", Answer::BadAgent, Outcome::Fatal),
            ("!donator", Answer::NotDonator, Outcome::Fatal),
            ("!yours", Answer::NotYours, Outcome::Fatal),
            ("dnserr", Answer::DnsError, Outcome::Retry),
            ("911", Answer::ServerTrouble, Outcome::Retry),
        ];
        for (body, answer, outcome) in cases {
            let parsed = Answer::parse(200, body);
            assert_eq!(parsed.as_ref(), Some(&answer), "{body:?}");
            assert_eq!(answer.outcome(), outcome, "{body:?}");
        }
    }

    #[test]
    fn the_first_line_counts_and_blank_lines_and_spaces_are_skipped() {
        assert_eq!(
            Answer::parse(200, "\r\n  good 2001:db8::1 \r\nnohost\r\n"),
            Some(Answer::Good(Some("2001:db8::1".parse().expect("ip"))))
        );
        assert_eq!(
            Answer::parse(200, "good not-an-address"),
            Some(Answer::Good(None))
        );
    }

    #[test]
    fn a_bare_401_is_badauth_and_anything_else_unknown_is_not_dyndns2() {
        assert_eq!(Answer::parse(401, ""), Some(Answer::BadAuth));
        assert_eq!(
            Answer::parse(401, "<html>Unauthorized</html>"),
            Some(Answer::BadAuth)
        );
        assert_eq!(Answer::parse(200, "<html>Welcome</html>"), None);
        assert_eq!(Answer::parse(500, ""), None);
        assert_eq!(
            Answer::parse(200, "GOOD 1.2.3.4"),
            None,
            "codes are lower case"
        );
    }

    #[test]
    fn display_is_the_code_with_the_address() {
        let ip: IpAddr = "198.51.100.2".parse().expect("ip");
        assert_eq!(Answer::Good(Some(ip)).to_string(), "good 198.51.100.2");
        assert_eq!(Answer::NoChange(None).to_string(), "nochg");
        assert_eq!(Answer::NotDonator.to_string(), "!donator");
    }
}
