//! The systemd-timesyncd drop-in naming the camera's time server (3.1.6).
//!
//! `DateTimeMode=0` writes `NTP=` with `TimeServerIPAddress`; timedated's `SetNTP(true)`
//! then runs timesyncd. `DateTimeMode=1` (set manually) writes a drop-in without a server:
//! `SetNTP(false)` stops timesyncd, and no stale server is left for the next start.
//! `TimeServerProtocol=1` asks for RFC 868 "Time" (TCP/UDP 37), which timesyncd does not
//! speak and no other service of the image does: the server is asked over NTP instead,
//! which the time servers a camera is pointed at (pools, routers, domain controllers)
//! answer; the drop-in says so in a comment.

use std::net::Ipv4Addr;

use ipcam_api::DateTimeConfig;
use ipcam_api::PlatformError;

use super::text::invalid;

const HEADER: &str = "# Written by ipcamd from the camera's settings; rewritten on every change.\n";

/// The drop-in for `config`.
pub fn drop_in(config: &DateTimeConfig) -> Result<String, PlatformError> {
    let mut out = String::from(HEADER);
    if config.date_time_mode != 0 {
        out.push_str("# The clock is set manually (DateTimeMode=1): no time server.\n[Time]\n");
        return Ok(out);
    }
    let server = config.time_server.trim();
    if !is_server_name(server) {
        return Err(invalid(
            "TimeServerIPAddress",
            "must be a host name or an IP address",
        ));
    }
    if config.time_server_protocol == 1 {
        out.push_str(
            "# TimeServerProtocol=1 asks for RFC 868 Time, which timesyncd does not speak:\n\
             # the server is asked over NTP.\n",
        );
    }
    out.push_str("[Time]\nNTP=");
    out.push_str(server);
    out.push('\n');
    Ok(out)
}

/// One `NTP=` entry: an IPv4 address or an RFC 1123 host name, nothing that timesyncd
/// would split into two servers.
fn is_server_name(server: &str) -> bool {
    server.parse::<Ipv4Addr>().is_ok() || (server.len() <= 253 && ipcam_api::is_host_name(server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        for good in ["pool.ntp.org", "192.168.0.1", "ntp", "time.example.com."] {
            assert!(is_server_name(good), "{good}");
        }
        for bad in [
            "",
            "a b",
            "pool.ntp.org\nFallbackNTP=evil",
            "-x.org",
            "a..b",
        ] {
            assert!(!is_server_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_second_server_cannot_be_smuggled_in() {
        let config = DateTimeConfig {
            time_server: "pool.ntp.org evil.example".into(),
            ..DateTimeConfig::default()
        };
        let error = drop_in(&config).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TimeServerIPAddress: must be a host name or an IP address"
        );
    }
}
