//! The pppd peer file for PPPoE (3.4.3 `IPAddressMode=5`), read by `pppd call
//! ipcamd-pppoe` from `ipcamd-pppoe.service`.
//!
//! pppd's option files are words separated by white space, with `"..."` quoting and `\`
//! escapes inside it, and `#` starting a comment outside quotes. The user name and the
//! password are written quoted with `\` and `"` escaped, and line breaks (any control
//! character) are refused, so no value can end its word and add an option such as
//! `plugin` or `pty`. The plugin's name is `pppoe.so`: ppp 2.5 (Yocto scarthgap) renamed
//! `rp-pppoe.so` to it, and ppp 2.4.9 (Debian 12) already ships it, with `rp-pppoe.so`
//! as a link to it.

use std::fmt::Write as _;

use ipcam_api::NetworkConfig;
use ipcam_api::PlatformError;

use super::text::check_no_control;

/// The peer file dialling PPPoE over `interface` with `config`'s credentials.
pub fn peer(interface: &str, config: &NetworkConfig) -> Result<String, PlatformError> {
    let user = quoted("PPPoEUserID", &config.pppoe_user_id)?;
    let password = quoted("PPPoEPASSWORD", &config.pppoe_password)?;
    let mut out = String::from(
        "# Written by ipcamd from the camera's settings; rewritten on every change.\n",
    );
    let _ = writeln!(out, "user {user}\npassword {password}");
    out.push_str(
        "hide-password\n\
         noauth\n\
         noipdefault\n\
         defaultroute\n\
         usepeerdns\n\
         persist\n\
         maxfail 0\n\
         lcp-echo-interval 20\n\
         lcp-echo-failure 3\n\
         plugin pppoe.so\n",
    );
    // Last: the plugin defines `nic-`, and stops pppd where the kernel has no PPP, so
    // every option above is parsed (and a wrong one reported) before it.
    let _ = writeln!(out, "nic-{interface}");
    Ok(out)
}

/// `value` as one quoted pppd word.
fn quoted(name: &'static str, value: &str) -> Result<String, PlatformError> {
    check_no_control(name, value)?;
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_credentials(user: &str, password: &str) -> NetworkConfig {
        NetworkConfig {
            ip_address_mode: 5,
            pppoe_user_id: user.into(),
            pppoe_password: password.into(),
            ..NetworkConfig::default()
        }
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        let text = peer("eth0", &with_credentials(r#"a" plugin "x"#, r#"p\" pty \"#)).unwrap();
        assert!(text.contains(r#"user "a\" plugin \"x""#), "{text}");
        assert!(text.contains(r#"password "p\\\" pty \\""#), "{text}");
    }

    #[test]
    fn a_line_break_cannot_add_an_option() {
        for (user, password, name) in [
            ("isp\nplugin evil.so", "pw", "PPPoEUserID"),
            ("isp", "pw\rpty /bin/sh", "PPPoEPASSWORD"),
            ("isp", "pw\0", "PPPoEPASSWORD"),
        ] {
            let error = peer("eth0", &with_credentials(user, password)).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("{name}: must not contain control characters")
            );
        }
    }

    #[test]
    fn every_line_is_one_option() {
        let text = peer("eth0", &with_credentials("isp#1 user", "pa ss#")).unwrap();
        let options: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            options[..2],
            [r#"user "isp#1 user""#, r#"password "pa ss#""#]
        );
        assert_eq!(
            options[options.len() - 2..],
            ["plugin pppoe.so", "nic-eth0"]
        );
    }
}
