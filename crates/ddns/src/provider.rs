//! Where each provider of the spec's Table 2 takes its updates.
//!
//! The table gives a server per provider, but many of those services are gone or speak
//! their own protocols. The camera speaks the one that outlived them, dyndns2, and only
//! to providers that accept it; every other row is reported as unsupported in the status
//! rather than sent requests its server would not understand.
//!
//! | spec ID | update URL | why |
//! |---|---|---|
//! | `www.dlinkddns.com` | `https://members.dyndns.org/nic/update` | the spec's server; D-Link's DDNS is run by Dyn |
//! | `www.DynDNS.org(Custom)`, `www.DynDNS.org(Free)`, `DynDNS.org(Custom)`, `DynDNS.org(Free)`, `DynDNS` | `https://members.dyndns.org/nic/update` | Dyn defined dyndns2 |
//! | `Cn99` | `https://members.3322.org/dyndns/update` | 3322.org's dyndns2 endpoint (as ddclient and inadyn use it) |
//! | `WWW.ORAY.NET` | `https://ddns.oray.com/ph/update` | Oray's dyndns2-style HTTP API; the spec's `NEWHPH002.ORAY.NET` speaks Oray's older binary protocol |
//! | all others | — | own protocols (TZO, dhs.org, DyNS) or services that closed |

/// How the camera updates a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// A dyndns2 server: host and path of the update URL (always HTTPS).
    Dyndns2 {
        /// Server host name.
        host: &'static str,
        /// Path of the update request.
        path: &'static str,
    },
    /// A provider whose protocol the camera does not speak.
    Unsupported,
}

const DYN: Provider = Provider::Dyndns2 {
    host: "members.dyndns.org",
    path: "/nic/update",
};

impl Provider {
    /// The provider of a `DDNSProvider` value (one of Table 2's IDs).
    pub fn for_id(id: &str) -> Provider {
        match id {
            "www.dlinkddns.com"
            | "www.DynDNS.org(Custom)"
            | "www.DynDNS.org(Free)"
            | "DynDNS.org(Custom)"
            | "DynDNS.org(Free)"
            | "DynDNS" => DYN,
            "Cn99" => Provider::Dyndns2 {
                host: "members.3322.org",
                path: "/dyndns/update",
            },
            "WWW.ORAY.NET" => Provider::Dyndns2 {
                host: "ddns.oray.com",
                path: "/ph/update",
            },
            _ => Provider::Unsupported,
        }
    }

    /// The update URL without query: `https://HOST/PATH`.
    pub fn url(&self) -> Option<String> {
        match self {
            Provider::Dyndns2 { host, path } => Some(format!("https://{host}{path}")),
            Provider::Unsupported => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipcam_api::DDNS_PROVIDERS;

    #[test]
    fn the_dyn_family_and_the_dyndns2_compatible_providers_are_supported() {
        let supported: Vec<(&str, String)> = DDNS_PROVIDERS
            .iter()
            .filter_map(|id| Some((*id, Provider::for_id(id).url()?)))
            .collect();
        let dyn_url = "https://members.dyndns.org/nic/update".to_owned();
        assert_eq!(
            supported,
            [
                ("www.dlinkddns.com", dyn_url.clone()),
                ("WWW.ORAY.NET", "https://ddns.oray.com/ph/update".into()),
                ("www.DynDNS.org(Custom)", dyn_url.clone()),
                ("www.DynDNS.org(Free)", dyn_url.clone()),
                ("DynDNS.org(Custom)", dyn_url.clone()),
                ("DynDNS.org(Free)", dyn_url.clone()),
                ("DynDNS", dyn_url),
                ("Cn99", "https://members.3322.org/dyndns/update".into()),
            ]
        );
    }

    #[test]
    fn the_other_rows_of_table_2_are_unsupported() {
        for id in ["TZO.com", "dhs.org", "DyNS", "corede.net", "Address.net"] {
            assert_eq!(Provider::for_id(id), Provider::Unsupported, "{id}");
        }
    }
}
