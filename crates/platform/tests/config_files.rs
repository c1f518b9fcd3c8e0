//! The files `ConfigFiles` writes, checked two ways: byte for byte against golden files
//! under `tests/golden/` (written by hand from systemd.network(5), wpa_supplicant.conf(5),
//! timesyncd.conf(5) and pppd(8), one per spec default or example and a few edge cases),
//! and by the programs that read them on the camera: wpa_supplicant parses each
//! configuration, systemd-networkd and systemd-timesyncd load theirs inside a private
//! mount and network namespace (nothing reaches the host's network or files), pppd parses
//! the peer file, and systemd-tmpfiles makes the image's links. Every check is shown to
//! refuse a broken file, so it can fail. A check whose program is missing, or that needs
//! root the test does not have, prints why it is skipped and returns.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipcam_api::{DateTimeConfig, NetworkConfig, WirelessConfig};
use ipcam_platform::config_files::{
    ConfigFiles, PPPOE_PEER, TIMESYNCD, WIRED_NETWORK, WIRELESS_NETWORK, WPA_SUPPLICANT,
};

/// One setting written through [`ConfigFiles`].
enum Setting {
    Network(NetworkConfig),
    Wireless(WirelessConfig),
    Time(DateTimeConfig),
}

/// A setting and the golden file each file it writes must equal.
struct Case {
    name: &'static str,
    setting: Setting,
    golden: &'static [(&'static str, &'static str)],
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn ip(text: &str) -> std::net::Ipv4Addr {
    text.parse().expect("test address")
}

fn wireless(ssid: &str) -> WirelessConfig {
    WirelessConfig {
        ssid: ssid.into(),
        ..WirelessConfig::default()
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "network defaults (DHCP)",
            setting: Setting::Network(NetworkConfig::default()),
            golden: &[(WIRED_NETWORK, "wired-dhcp.network")],
        },
        Case {
            name: "fixed IP, the spec's example address and the default mask, gateway, DNS",
            setting: Setting::Network(NetworkConfig {
                ip_address_mode: 1,
                ip_address: ip("192.168.0.20"),
                ..NetworkConfig::default()
            }),
            golden: &[(WIRED_NETWORK, "wired-fixed.network")],
        },
        Case {
            name: "fixed IP, /23, no gateway, two DNS servers",
            setting: Setting::Network(NetworkConfig {
                ip_address_mode: 1,
                ip_address: ip("192.168.0.90"),
                subnet_mask: ip("255.255.254.0"),
                default_gateway: ip("0.0.0.0"),
                dns1: ip("8.8.8.8"),
                dns2: ip("192.168.1.1"),
                ..NetworkConfig::default()
            }),
            golden: &[(WIRED_NETWORK, "wired-fixed-no-gateway.network")],
        },
        Case {
            name: "PPPoE with a quote and a backslash in the password",
            setting: Setting::Network(pppoe("user@isp.example", r#"s3cr"t\x"#)),
            golden: &[
                (WIRED_NETWORK, "wired-pppoe.network"),
                (PPPOE_PEER, "pppoe.peer"),
            ],
        },
        Case {
            name: "wireless defaults (no SSID: off)",
            setting: Setting::Wireless(WirelessConfig::default()),
            golden: &[
                (WIRELESS_NETWORK, "wireless-off.network"),
                (WPA_SUPPLICANT, "wpa-off.conf"),
            ],
        },
        Case {
            name: "WPA-PSK/WPA2-PSK to the spec's example AP",
            setting: Setting::Wireless(WirelessConfig {
                wep_encryption: 4,
                pre_shared_key: "my secret #1".into(),
                ..wireless("DI-624")
            }),
            golden: &[
                (WIRELESS_NETWORK, "wireless-dhcp.network"),
                (WPA_SUPPLICANT, "wpa-psk.conf"),
            ],
        },
        Case {
            name: "WEP 64 ASCII, shared key, Key 3",
            setting: Setting::Wireless(WirelessConfig {
                wep_encryption: 2,
                key1: "abcde".into(),
                key3: "12345".into(),
                tx_key: "Key 3".into(),
                authentication_type: 1,
                ..wireless("DI-624")
            }),
            golden: &[(WPA_SUPPLICANT, "wpa-wep64-ascii.conf")],
        },
        Case {
            name: "WEP 128 HEX, ad-hoc on channel 11, open and shared",
            setting: Setting::Wireless(WirelessConfig {
                connection_mode: 1,
                channel: 11,
                wep_encryption: 3,
                wep_key_format: 1,
                key2: "0123456789ABCDEF0123456789".into(),
                tx_key: "Key 2".into(),
                authentication_type: 2,
                ..wireless("camera-adhoc")
            }),
            golden: &[
                (WIRELESS_NETWORK, "wireless-adhoc.network"),
                (WPA_SUPPLICANT, "wpa-wep128-hex-adhoc.conf"),
            ],
        },
        Case {
            name: "WPA2 ad-hoc on channel 14, an SSID with quotes, a 64-hex key",
            setting: Setting::Wireless(WirelessConfig {
                connection_mode: 1,
                channel: 14,
                wep_encryption: 4,
                pre_shared_key: "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"
                    .into(),
                ..wireless(r#"Lab "A""#)
            }),
            golden: &[(WPA_SUPPLICANT, "wpa-psk-adhoc-hex-ssid.conf")],
        },
        Case {
            name: "open network with a UTF-8 SSID",
            setting: Setting::Wireless(wireless("Café")),
            golden: &[(WPA_SUPPLICANT, "wpa-open-utf8-ssid.conf")],
        },
        Case {
            name: "date/time defaults (NTP from pool.ntp.org)",
            setting: Setting::Time(DateTimeConfig::default()),
            golden: &[(TIMESYNCD, "timesyncd-ntp.conf")],
        },
        Case {
            name: "TimeServerProtocol 1 (RFC 868)",
            setting: Setting::Time(DateTimeConfig {
                time_server: "192.168.0.1".into(),
                time_server_protocol: 1,
                ..DateTimeConfig::default()
            }),
            golden: &[(TIMESYNCD, "timesyncd-rfc868.conf")],
        },
        Case {
            name: "clock set manually",
            setting: Setting::Time(DateTimeConfig {
                date_time_mode: 1,
                ..DateTimeConfig::default()
            }),
            golden: &[(TIMESYNCD, "timesyncd-manual.conf")],
        },
    ]
}

fn pppoe(user: &str, password: &str) -> NetworkConfig {
    NetworkConfig {
        ip_address_mode: 5,
        pppoe_user_id: user.into(),
        pppoe_password: password.into(),
        ..NetworkConfig::default()
    }
}

/// Writes `setting` into `dir` for eth0 and wlan0.
fn write(dir: &Path, setting: &Setting) {
    let files = ConfigFiles::new(dir, "eth0", Some("wlan0".into()));
    match setting {
        Setting::Network(config) => files.write_network(config),
        Setting::Wireless(config) => files.write_wireless(config),
        Setting::Time(config) => files.write_time_servers(config),
    }
    .expect("the setting is written");
}

/// Every case written, each in its own directory.
fn written() -> Vec<(Case, tempfile::TempDir)> {
    cases()
        .into_iter()
        .map(|case| {
            let dir = tempfile::tempdir().expect("temp dir");
            write(dir.path(), &case.setting);
            (case, dir)
        })
        .collect()
}

/// The generated files of every case named `file`, with the golden name they match.
fn generated(file: &str) -> Vec<(&'static str, Vec<u8>)> {
    written()
        .into_iter()
        .flat_map(|(case, dir)| {
            case.golden
                .iter()
                .filter(|(name, _)| *name == file)
                .map(|(name, golden)| (*golden, fs::read(dir.path().join(name)).expect("written")))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn skip(test: &str, why: &str) {
    println!("SKIP ({test}): {why}");
}

fn have(program: &str) -> Option<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    ["/usr/sbin", "/sbin", "/lib/systemd", "/usr/lib/systemd"]
        .iter()
        .map(PathBuf::from)
        .chain(candidates)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

fn is_root() -> bool {
    real_uid() == 0
}

fn real_uid() -> u32 {
    // /proc/self/status names the real uid (nix's getuid() sits behind a feature the
    // crate does not enable).
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(u32::MAX)
}

fn run(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("running {command:?}: {error}"))
}

// ---------------------------------------------------------------------------------------
// Golden files

#[test]
fn every_generated_file_equals_its_golden_file() {
    let mut mismatches = Vec::new();
    for (case, dir) in written() {
        for (file, golden) in case.golden {
            let got = fs::read(dir.path().join(file)).expect("written");
            let want = fs::read(golden_dir().join(golden)).expect("golden file");
            if got != want {
                mismatches.push(format!(
                    "{} ({file} vs {golden}):\n--- got\n{}--- want\n{}",
                    case.name,
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want)
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn every_golden_file_belongs_to_a_case() {
    let used: Vec<&str> = cases()
        .iter()
        .flat_map(|case| case.golden.iter().map(|(_, golden)| *golden))
        .collect();
    for entry in fs::read_dir(golden_dir()).expect("golden dir") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        assert!(used.contains(&name.as_ref()), "{name} is used by no case");
    }
}

// ---------------------------------------------------------------------------------------
// wpa_supplicant

/// What wpa_supplicant made of `config`: `Ok(log)` when it parsed the file, `Err(log)`
/// when it refused it. It runs against an interface that does not exist, so it stops
/// after reading the configuration, before touching any device; `-dd -K` logs what it
/// parsed, keys included.
fn wpa_parse(program: &Path, config: &Path) -> Result<String, String> {
    let output = run(Command::new(program)
        .args(["-i", "ipcamtest0", "-D", "nl80211", "-dd", "-K", "-c"])
        .arg(config));
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let refused = log.contains("Failed to read or parse configuration")
        || log
            .lines()
            .any(|line| line.starts_with("Line ") && line.contains("failed"));
    if refused {
        Err(log)
    } else if log.contains("Reading configuration file") {
        Ok(log)
    } else {
        panic!("wpa_supplicant did not read {}:\n{log}", config.display());
    }
}

#[test]
fn wpa_supplicant_reads_every_generated_configuration() {
    let Some(program) = have("wpa_supplicant") else {
        return skip(
            "wpa_supplicant",
            "wpa_supplicant is not installed (apt: wpasupplicant; run .ci/platform-deps)",
        );
    };
    // The SSID wpa_supplicant lists for each file, in its own escaping.
    let ssids = [
        ("wpa-off.conf", None),
        ("wpa-psk.conf", Some("DI-624")),
        ("wpa-wep64-ascii.conf", Some("DI-624")),
        ("wpa-wep128-hex-adhoc.conf", Some("camera-adhoc")),
        ("wpa-psk-adhoc-hex-ssid.conf", Some(r#"Lab \"A\""#)),
        ("wpa-open-utf8-ssid.conf", Some(r"Caf\xc3\xa9")),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for (golden, content) in generated(WPA_SUPPLICANT) {
        let path = dir.path().join(golden);
        fs::write(&path, content).expect("copy");
        let log = wpa_parse(&program, &path)
            .unwrap_or_else(|log| panic!("wpa_supplicant refused {golden}:\n{log}"));
        let (_, ssid) = ssids
            .iter()
            .find(|(name, _)| *name == golden)
            .unwrap_or_else(|| panic!("no expected SSID for {golden}"));
        match ssid {
            Some(ssid) => assert!(
                log.contains(&format!("id=0 ssid='{ssid}'")),
                "{golden}: network 0 is not {ssid:?}:\n{log}"
            ),
            None => assert!(
                !log.contains("id=0 ssid="),
                "{golden} has a network:\n{log}"
            ),
        }
    }
}

#[test]
fn wpa_supplicant_takes_the_keys_as_written() {
    let Some(program) = have("wpa_supplicant") else {
        return skip(
            "wpa_supplicant",
            "wpa_supplicant is not installed (apt: wpasupplicant; run .ci/platform-deps)",
        );
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let expect = [
        (
            "wpa-psk.conf",
            "PSK (ASCII passphrase) - hexdump_ascii(len=12):",
        ),
        (
            "wpa-wep64-ascii.conf",
            "wep_key2 - hexdump(len=5): 31 32 33 34 35",
        ),
        (
            "wpa-wep128-hex-adhoc.conf",
            "wep_key1 - hexdump(len=13): 01 23 45 67 89 ab cd ef 01 23 45 67 89",
        ),
        (
            "wpa-psk-adhoc-hex-ssid.conf",
            "PSK - hexdump(len=32): 00 11 22 33",
        ),
    ];
    let files = generated(WPA_SUPPLICANT);
    for (golden, line) in expect {
        let (_, content) = files
            .iter()
            .find(|(name, _)| *name == golden)
            .expect("case");
        let path = dir.path().join(golden);
        fs::write(&path, content).expect("copy");
        let log = wpa_parse(&program, &path).unwrap_or_else(|log| panic!("{golden}:\n{log}"));
        assert!(log.contains(line), "{golden}: no {line:?} in\n{log}");
    }
}

#[test]
fn wpa_supplicant_reads_quoted_ssids_with_backslashes_and_hashes_verbatim() {
    let Some(program) = have("wpa_supplicant") else {
        return skip(
            "wpa_supplicant",
            "wpa_supplicant is not installed (apt: wpasupplicant; run .ci/platform-deps)",
        );
    };
    // wpa_supplicant lists an SSID with `\` doubled, as printf_encode() escapes it.
    for (ssid, listed) in [
        (r"cam\#1 lab", r"cam\\#1 lab"),
        (" spaced ", " spaced "),
        ("#", "#"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), &Setting::Wireless(wireless(ssid)));
        let log = wpa_parse(&program, &dir.path().join(WPA_SUPPLICANT))
            .unwrap_or_else(|log| panic!("{ssid:?} refused:\n{log}"));
        assert!(
            log.contains(&format!("id=0 ssid='{listed}'")),
            "{ssid:?} was not read verbatim:\n{log}"
        );
    }
}

#[test]
fn a_passphrase_wpa_supplicant_cannot_quote_is_written_as_wpa_passphrases_psk() {
    let (Some(supplicant), Some(passphrase)) = (have("wpa_supplicant"), have("wpa_passphrase"))
    else {
        return skip(
            "wpa_passphrase",
            "wpa_supplicant/wpa_passphrase are not installed (run .ci/platform-deps)",
        );
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = WirelessConfig {
        wep_encryption: 4,
        pre_shared_key: r#"say "hi" #1"#.into(),
        ..wireless("home")
    };
    write(dir.path(), &Setting::Wireless(config));
    let conf_path = dir.path().join(WPA_SUPPLICANT);
    let conf = fs::read_to_string(&conf_path).expect("written");
    let output = run(Command::new(passphrase).args(["home", r#"say "hi" #1"#]));
    let reference = String::from_utf8_lossy(&output.stdout);
    let psk_line = reference
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("psk=") && !line.starts_with("psk=\""))
        .unwrap_or_else(|| panic!("wpa_passphrase printed no psk:\n{reference}"));
    assert!(
        conf.contains(&format!("\t{psk_line}\n")),
        "{conf}\nwanted {psk_line}"
    );
    assert!(
        !conf.contains("say"),
        "the passphrase itself is in the file:\n{conf}"
    );
    wpa_parse(&supplicant, &conf_path).unwrap_or_else(|log| panic!("refused:\n{log}"));
}

#[test]
fn wpa_supplicant_refuses_a_naively_quoted_passphrase() {
    let Some(program) = have("wpa_supplicant") else {
        return skip(
            "wpa_supplicant",
            "wpa_supplicant is not installed (apt: wpasupplicant; run .ci/platform-deps)",
        );
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("naive.conf");
    // What quoting the passphrase `pa"ss#word` as it comes would give.
    let naive = "network={\n\tssid=\"home\"\n\tkey_mgmt=WPA-PSK\n\tpsk=\"pa\"ss#word\"\n}\n";
    fs::write(&path, naive).expect("write");
    assert!(wpa_parse(&program, &path).is_err(), "the check cannot fail");
}

// ---------------------------------------------------------------------------------------
// systemd-networkd and systemd-timesyncd, in a private mount and network namespace

/// A daemon run by [`namespaced`]; killed by PID when dropped.
struct Namespaced {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Drop for Namespaced {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Namespaced {
    /// Collects the log until a line containing `ready`, or panics at the deadline.
    fn until(&mut self, ready: &str) -> &[String] {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log.iter().any(|line| line.contains(ready)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(_) => panic!("no {ready:?} before the deadline:\n{}", self.log.join("\n")),
            }
        }
        &self.log
    }
}

/// Runs the systemd daemon `program` with `etc_systemd` as its /etc/systemd, a fresh /run
/// and /var/lib/systemd, and no network but its own loopback, logging at debug level to
/// stderr. `Err` says why it cannot run here.
fn namespaced(program: &str, etc_systemd: &Path) -> Result<Namespaced, String> {
    let unshare =
        have("unshare").ok_or("unshare is not installed (util-linux; run .ci/platform-deps)")?;
    let daemon = have(program).ok_or(format!(
        "{program} is not installed (apt: systemd, systemd-timesyncd; run .ci/platform-deps)"
    ))?;
    if !is_root() {
        return Err("making a mount namespace needs root".into());
    }
    let probe = run(Command::new(&unshare).args(["-m", "-n", "true"]));
    if !probe.status.success() {
        return Err(format!(
            "cannot make a mount and network namespace here: {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    // The script is fixed; the paths reach it as arguments, never as script text.
    let script = "set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/netif
if [ -d /var/lib/systemd ]; then mount -t tmpfs tmpfs /var/lib/systemd; fi
mount --bind \"$1\" /etc/systemd
exec \"$2\"";
    let mut child = Command::new(unshare)
        .args([
            "-m",
            "-n",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            script,
            "sh",
        ])
        .arg(etc_systemd)
        .arg(daemon)
        .env("SYSTEMD_LOG_LEVEL", "debug")
        .env("SYSTEMD_LOG_TARGET", "console")
        .env("SYSTEMD_LOG_COLOR", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("unshare: {error}"))?;
    let stderr = child.stderr.take().expect("piped");
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    Ok(Namespaced {
        child,
        lines,
        log: Vec::new(),
    })
}

/// The log lines in which the daemon complains about a file under `dir` (systemd prefixes
/// them with the file's path: `/etc/systemd/network/x.network:5: Unknown key ...`).
fn complaints<'a>(log: &'a [String], dir: &str) -> Vec<&'a str> {
    log.iter()
        .map(String::as_str)
        .filter(|line| line.starts_with(dir))
        .collect()
}

#[test]
fn networkd_loads_every_generated_network_file_without_a_complaint() {
    let root = tempfile::tempdir().expect("temp dir");
    let network = root.path().join("network");
    fs::create_dir(&network).expect("mkdir");
    for file in [WIRED_NETWORK, WIRELESS_NETWORK] {
        for (golden, content) in generated(file) {
            fs::write(network.join(golden), content).expect("copy");
        }
    }
    // Without a wireless interface the file is empty, which networkd must skip.
    let none = tempfile::tempdir().expect("temp dir");
    ConfigFiles::new(none.path(), "eth0", None)
        .write_wireless(&wireless("home"))
        .expect("written");
    fs::copy(
        none.path().join(WIRELESS_NETWORK),
        network.join("no-wireless-interface.network"),
    )
    .expect("copy");
    // The check must be able to fail: a broken file has to be complained about.
    fs::write(
        network.join("zz-broken.network"),
        "[Match]\nName=eth0\n\n[Network]\nAddress=192.168.0.20/33\nGateway=192.168.0.1 8.8.8.8\n",
    )
    .expect("write");
    let mut networkd = match namespaced("systemd-networkd", root.path()) {
        Ok(daemon) => daemon,
        Err(why) => return skip("networkd", &why),
    };
    let log = networkd.until("Enumeration completed");
    let complained = complaints(log, "/etc/systemd/network/");
    let (broken, others): (Vec<&str>, Vec<&str>) = complained
        .into_iter()
        .partition(|line| line.contains("zz-broken.network"));
    assert!(
        others.is_empty(),
        "networkd complained:\n{}",
        others.join("\n")
    );
    assert!(
        broken.len() >= 2,
        "networkd took the broken file without complaint:\n{}",
        log.join("\n")
    );
    assert!(
        log.iter().any(|line| line
            == "Skipping empty file: /etc/systemd/network/no-wireless-interface.network"),
        "the empty file was not skipped:\n{}",
        log.join("\n")
    );
}

/// timesyncd's log after loading `drop_in` as its only drop-in.
fn timesyncd_with(drop_in: &[u8]) -> Result<Vec<String>, String> {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("timesyncd.conf.d");
    fs::create_dir(&dir).expect("mkdir");
    fs::write(dir.join("50-ipcamd.conf"), drop_in).expect("write");
    let mut timesyncd = namespaced("systemd-timesyncd", root.path())?;
    Ok(timesyncd.until("systemd-timesyncd running as pid").to_vec())
}

#[test]
fn timesyncd_takes_the_server_of_the_drop_in() {
    let expected = [
        ("timesyncd-ntp.conf", Some("pool.ntp.org")),
        ("timesyncd-rfc868.conf", Some("192.168.0.1")),
        ("timesyncd-manual.conf", None),
    ];
    for (golden, content) in generated(TIMESYNCD) {
        let log = match timesyncd_with(&content) {
            Ok(log) => log,
            Err(why) => return skip("timesyncd", &why),
        };
        let complained = complaints(&log, "/etc/systemd/timesyncd.conf.d/");
        assert!(
            complained.is_empty(),
            "{golden}:\n{}",
            complained.join("\n")
        );
        let servers: Vec<&str> = log
            .iter()
            .filter_map(|line| line.strip_prefix("Added new system server "))
            .collect();
        let (_, server) = expected
            .iter()
            .find(|(name, _)| *name == golden)
            .expect("case");
        match server {
            Some(server) => assert_eq!(servers, [format!("{server}.")], "{golden}"),
            None => assert!(servers.is_empty(), "{golden}: {servers:?}"),
        }
    }
}

#[test]
fn timesyncd_complains_about_a_broken_drop_in() {
    match timesyncd_with(b"[Time]\nNTP=pool.ntp.org\nNTPServer=evil.example\n") {
        Ok(log) => assert_eq!(
            complaints(&log, "/etc/systemd/timesyncd.conf.d/").len(),
            1,
            "{}",
            log.join("\n")
        ),
        Err(why) => skip("timesyncd", &why),
    }
}

// ---------------------------------------------------------------------------------------
// pppd

/// An Ethernet interface of this machine, which pppoe.so's `nic-` option insists on.
fn ethernet_interface() -> Option<String> {
    let mut names: Vec<String> = fs::read_dir("/sys/class/net")
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            fs::read_to_string(entry.path().join("type")).is_ok_and(|kind| kind.trim() == "1")
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().next()
}

/// pppd's verdict on the options file `peer`: `dryrun` parses it, prints the options and
/// exits before dialling. Exit status 2 is pppd's "error in options".
fn pppd_dryrun(program: &Path, peer: &Path) -> Output {
    run(Command::new(program).arg("file").arg(peer).arg("dryrun"))
}

fn pppd_setup(test: &str) -> Option<(PathBuf, String)> {
    let Some(program) = have("pppd") else {
        skip(
            test,
            "pppd is not installed (apt: ppp; run .ci/platform-deps)",
        );
        return None;
    };
    if !is_root() {
        skip(test, "pppd parses options only as root");
        return None;
    }
    let Some(interface) = ethernet_interface() else {
        skip(test, "no Ethernet interface for pppoe.so's nic- option");
        return None;
    };
    Some((program, interface))
}

#[test]
fn pppd_reads_the_peer_file() {
    let Some((program, interface)) = pppd_setup("pppd") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    ConfigFiles::new(dir.path(), interface.as_str(), None)
        .write_network(&pppoe(r#"user "x" @isp"#, r#"pa\ss" "word"#))
        .expect("written");
    let output = pppd_dryrun(&program, &dir.path().join(PPPOE_PEER));
    let log = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    assert_ne!(
        output.status.code(),
        Some(2),
        "pppd refused the options:\n{log}"
    );
    assert!(log.contains("Plugin pppoe.so loaded."), "{log}");
    if output.status.success() {
        // dryrun printed the options: the user name is one word, as given (pppd prints
        // it quoted the way the file does), and the password is hidden.
        let user = log
            .lines()
            .find(|line| line.starts_with("user "))
            .unwrap_or_default();
        assert!(user.contains(r#"user \"x\" @isp"#), "{log}");
        assert!(!log.contains("word"), "the password was printed:\n{log}");
    } else {
        assert!(
            log.contains("/dev/ppp") || log.contains("kernel does not support"),
            "pppd failed for another reason than the missing PPP kernel support:\n{log}"
        );
        skip(
            "pppd dryrun",
            "the options parsed; this kernel has no PPP device, so pppd stops before printing them",
        );
    }
}

#[test]
fn pppd_refuses_an_injected_option() {
    let Some((program, interface)) = pppd_setup("pppd") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let peer = dir.path().join("naive.peer");
    // What writing a user name `isp` + newline + `no-such-option` unescaped would give.
    fs::write(
        &peer,
        format!("user isp\nno-such-option\nnoauth\nplugin pppoe.so\nnic-{interface}\n"),
    )
    .expect("write");
    let output = pppd_dryrun(&program, &peer);
    assert_eq!(
        output.status.code(),
        Some(2),
        "pppd took an unknown option: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---------------------------------------------------------------------------------------
// systemd-tmpfiles: the image's links

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn tmpfiles_links_every_file_where_its_service_reads_it() {
    let (Some(tmpfiles), Some(sysusers)) = (have("systemd-tmpfiles"), have("systemd-sysusers"))
    else {
        return skip(
            "tmpfiles",
            "systemd-tmpfiles/systemd-sysusers are not installed (run .ci/platform-deps)",
        );
    };
    if !is_root() {
        return skip("tmpfiles", "creating files owned by ipcamd needs root");
    }
    let root = tempfile::tempdir().expect("temp dir");
    fs::create_dir(root.path().join("etc")).expect("mkdir");
    let root_arg = format!("--root={}", root.path().display());
    let users = run(Command::new(sysusers)
        .arg(&root_arg)
        .arg(repo_file("systemd/sysusers.d/ipcamd.conf")));
    assert!(users.status.success(), "{users:?}");
    let created = run(Command::new(&tmpfiles)
        .args([root_arg.as_str(), "--create"])
        .arg(repo_file("systemd/tmpfiles.d/ipcamd.conf")));
    assert!(created.status.success(), "{created:?}");
    let links = [
        (
            "etc/systemd/network/50-ipcamd-wired.network",
            WIRED_NETWORK,
            0o644,
        ),
        (
            "etc/systemd/network/50-ipcamd-wireless.network",
            WIRELESS_NETWORK,
            0o644,
        ),
        (
            "etc/wpa_supplicant/wpa_supplicant-wlan0.conf",
            WPA_SUPPLICANT,
            0o600,
        ),
        (
            "etc/systemd/timesyncd.conf.d/50-ipcamd.conf",
            TIMESYNCD,
            0o644,
        ),
        ("etc/ppp/peers/ipcamd-pppoe", PPPOE_PEER, 0o600),
    ];
    let system = root.path().join("etc/ipcamd/system");
    let passwd = fs::read_to_string(root.path().join("etc/passwd")).expect("passwd");
    let ipcamd_uid: u32 = passwd
        .lines()
        .find_map(|line| line.strip_prefix("ipcamd:x:"))
        .and_then(|rest| rest.split(':').next()?.parse().ok())
        .expect("sysusers made user ipcamd");
    let owner =
        |path: &Path| std::os::unix::fs::MetadataExt::uid(&fs::metadata(path).expect("made"));
    assert_eq!(owner(&system), ipcamd_uid, "ipcamd owns its directory");
    assert_eq!(
        owner(&root.path().join("etc/ipcamd")),
        0,
        "/etc/ipcamd stays root's"
    );
    for (link, file, mode) in links {
        let target =
            fs::read_link(root.path().join(link)).unwrap_or_else(|e| panic!("{link}: {e}"));
        assert_eq!(target, Path::new("/etc/ipcamd/system").join(file), "{link}");
        let metadata = fs::metadata(system.join(file)).expect("created");
        assert_eq!(metadata.len(), 0, "{file} starts empty");
        assert_eq!(owner(&system.join(file)), ipcamd_uid, "{file}");
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777,
            mode
        );
    }
    // What ipcamd writes is what the link shows, and survives tmpfiles' next boot run.
    ConfigFiles::new(&system, "eth0", None)
        .write_time_servers(&DateTimeConfig::default())
        .expect("written");
    let again = run(Command::new(&tmpfiles)
        .args([root_arg.as_str(), "--create"])
        .arg(repo_file("systemd/tmpfiles.d/ipcamd.conf")));
    assert!(again.status.success(), "{again:?}");
    let link = root
        .path()
        .join("etc/systemd/timesyncd.conf.d/50-ipcamd.conf");
    let target = root.path().join(
        fs::read_link(link)
            .expect("link")
            .strip_prefix("/")
            .expect("absolute"),
    );
    let text = fs::read_to_string(target).expect("written");
    assert!(text.ends_with("[Time]\nNTP=pool.ntp.org\n"), "{text}");
}
