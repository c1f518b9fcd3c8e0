//! systemd-networkd `.network` files for the wired and the wireless interface.
//!
//! Wired (3.4.3 `IPAddressMode`): 1 → the fixed `IPAddress`/`SubnetMask`, `DefaultGateway`
//! and `DNSIPAddress1/2` (`0.0.0.0` leaves a line out); 4 → DHCP, where the DNS servers
//! come from the lease (`UseDNS=yes`) and the spec's DNS fields are not used, as on the
//! original cameras, whose pages grey them out with DHCP; 5 → PPPoE: the link is brought
//! up without an address for pppd to dial over. The DHCP client identifies itself by its
//! MAC address (`ClientIdentifier=mac`): networkd's default, a DUID, would defeat the
//! MAC-based address reservations that home routers offer for cameras.
//!
//! Wireless (3.4.6): the spec gives the wireless link no address settings, so it takes a
//! DHCP lease in infrastructure mode and an IPv4 link-local address in ad-hoc mode (no
//! DHCP server there). An empty `SSID` means wireless is off: the link is kept down.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use ipcam_api::PlatformError;
use ipcam_api::{NetworkConfig, WirelessConfig};

use super::text::invalid;

const HEADER: &str = "# Written by ipcamd from the camera's settings; rewritten on every change.\n";

/// The wired interface's `.network` for `config`.
pub fn wired(interface: &str, config: &NetworkConfig) -> Result<String, PlatformError> {
    let mut out = format!("{HEADER}\n[Match]\nName={interface}\n\n");
    match config.ip_address_mode {
        1 => fixed_address(&mut out, config)?,
        4 => out.push_str("[Network]\nDHCP=ipv4\n\n[DHCPv4]\nClientIdentifier=mac\nUseDNS=yes\n"),
        5 => out.push_str(
            "[Link]\n\
             # PPPoE: pppd (ipcamd-pppoe.service) dials over the link, which has no address.\n\
             RequiredForOnline=carrier\n\
             \n\
             [Network]\n\
             DHCP=no\n\
             LinkLocalAddressing=no\n\
             IPv6AcceptRA=no\n",
        ),
        _ => return Err(invalid("IPAddressMode", "must be 1, 4 or 5")),
    }
    Ok(out)
}

fn fixed_address(out: &mut String, config: &NetworkConfig) -> Result<(), PlatformError> {
    let prefix = prefix_length(config.subnet_mask)?;
    if config.ip_address.is_unspecified() {
        return Err(invalid("IPAddress", "must be a host address"));
    }
    let _ = writeln!(out, "[Network]\nAddress={}/{prefix}", config.ip_address);
    for (line, address) in [
        ("Gateway", config.default_gateway),
        ("DNS", config.dns1),
        ("DNS", config.dns2),
    ] {
        if !address.is_unspecified() {
            let _ = writeln!(out, "{line}={address}");
        }
    }
    Ok(())
}

/// The prefix length of a contiguous netmask (`255.255.255.0` → 24).
pub fn prefix_length(mask: Ipv4Addr) -> Result<u32, PlatformError> {
    let bits = u32::from(mask);
    if bits.leading_ones() + bits.trailing_zeros() != 32 {
        return Err(invalid("SubnetMask", "must be a contiguous netmask"));
    }
    Ok(bits.leading_ones())
}

/// The wireless interface's `.network`: managed when `config` names an SSID, else down.
pub fn wireless(interface: &str, config: &WirelessConfig) -> String {
    let mut out = format!("{HEADER}\n[Match]\nName={interface}\n\n[Link]\n");
    if config.ssid.is_empty() {
        out.push_str("# Wireless is off (no SSID).\nActivationPolicy=down\nRequiredForOnline=no\n");
    } else if config.connection_mode == 1 {
        out.push_str("RequiredForOnline=no\n\n[Network]\nLinkLocalAddressing=ipv4\n");
    } else {
        out.push_str(
            "RequiredForOnline=no\n\n[Network]\nDHCP=ipv4\n\n[DHCPv4]\nClientIdentifier=mac\nUseDNS=yes\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_lengths_of_contiguous_masks() {
        for (mask, prefix) in [
            ("255.255.255.0", 24),
            ("255.255.255.255", 32),
            ("0.0.0.0", 0),
            ("255.255.240.0", 20),
            ("128.0.0.0", 1),
        ] {
            assert_eq!(
                prefix_length(mask.parse().unwrap()).unwrap(),
                prefix,
                "{mask}"
            );
        }
    }

    #[test]
    fn a_non_contiguous_mask_is_refused_naming_the_parameter() {
        for mask in ["255.0.255.0", "0.255.255.255", "255.255.255.1"] {
            let error = prefix_length(mask.parse().unwrap()).unwrap_err();
            assert_eq!(
                error.to_string(),
                "SubnetMask: must be a contiguous netmask"
            );
        }
    }

    #[test]
    fn fixed_address_leaves_out_unset_gateway_and_dns() {
        let config = NetworkConfig {
            ip_address_mode: 1,
            ip_address: "10.1.2.3".parse().unwrap(),
            subnet_mask: "255.0.0.0".parse().unwrap(),
            default_gateway: Ipv4Addr::UNSPECIFIED,
            dns1: Ipv4Addr::UNSPECIFIED,
            dns2: "10.0.0.53".parse().unwrap(),
            ..NetworkConfig::default()
        };
        let text = wired("eth1", &config).unwrap();
        assert!(text.contains("Name=eth1\n"), "{text}");
        assert!(
            text.ends_with("[Network]\nAddress=10.1.2.3/8\nDNS=10.0.0.53\n"),
            "{text}"
        );
    }

    #[test]
    fn an_unknown_mode_is_refused() {
        let config = NetworkConfig {
            ip_address_mode: 2,
            ..NetworkConfig::default()
        };
        let error = wired("eth0", &config).unwrap_err();
        assert_eq!(error.to_string(), "IPAddressMode: must be 1, 4 or 5");
    }
}
