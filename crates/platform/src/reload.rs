//! What must re-read the OS files the daemon just wrote.
//!
//! The file writers (networkd, wpa_supplicant, timesyncd, PPPoE) report a [`Reload`]; the
//! Linux platform turns it into D-Bus calls (networkd `Reload`/`ReconfigureLink`, the
//! service manager's `RestartUnit`/`StopUnit`) once the response to the request that
//! changed them has been written, because a new address may cut the client off.
//! This is the interface agreed in the plan (ISSUE11-PLAN.md).

/// What must re-read the files just written (all false/None: nothing changed on disk).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reload {
    /// networkd: `Reload()` then `ReconfigureLink` of the interface(s).
    pub networkd: bool,
    /// `wpa_supplicant@<wireless>.service`: restart (Some(true)) or stop (Some(false)).
    pub wpa_supplicant: Option<bool>,
    /// `ipcamd-pppoe.service`: restart (Some(true)) or stop (Some(false)).
    pub pppoe: Option<bool>,
    /// `systemd-timesyncd.service` must restart to read the drop-in.
    pub timesyncd: bool,
}

impl Reload {
    /// Both reloads' work; for a unit both touched, the later decision wins.
    pub fn merge(self, other: Reload) -> Reload {
        Reload {
            networkd: self.networkd || other.networkd,
            wpa_supplicant: other.wpa_supplicant.or(self.wpa_supplicant),
            pppoe: other.pppoe.or(self.pppoe),
            timesyncd: self.timesyncd || other.timesyncd,
        }
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        *self == Reload::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_every_reload_and_the_later_unit_decision() {
        let first = Reload {
            networkd: true,
            wpa_supplicant: Some(true),
            ..Reload::default()
        };
        let second = Reload {
            wpa_supplicant: Some(false),
            timesyncd: true,
            ..Reload::default()
        };
        assert_eq!(
            first.merge(second),
            Reload {
                networkd: true,
                wpa_supplicant: Some(false),
                pppoe: None,
                timesyncd: true,
            }
        );
        assert!(Reload::default().merge(Reload::default()).is_empty());
    }
}
