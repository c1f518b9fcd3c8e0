// Evaluates systemd/polkit/50-ipcamd.rules with a stub polkit object, as polkitd would,
// and checks which actions it grants. usage: node scripts/test-polkit-rules.js RULES_FILE
const fs = require("fs");
let rule;
const polkit = { Result: { YES: "yes", NO: "no", NOT_HANDLED: null }, addRule: (f) => { rule = f; } };
eval(fs.readFileSync(process.argv[2], "utf8"));
const action = (id, attrs = {}) => ({ id, lookup: (k) => attrs[k] });
const cases = [
  ["ipcamd", action("org.freedesktop.timedate1.set-time"), "yes"],
  ["ipcamd", action("org.freedesktop.login1.reboot"), "yes"],
  ["ipcamd", action("org.freedesktop.login1.power-off"), null],
  ["alice", action("org.freedesktop.timedate1.set-time"), null],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "systemd-timesyncd.service", verb: "restart" }), "yes"],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "sshd.service", verb: "restart" }), null],
  ["ipcamd", action("org.freedesktop.timedate1.set-timezone"), "yes"],
  ["ipcamd", action("org.freedesktop.timedate1.set-ntp"), "yes"],
  ["ipcamd", action("org.freedesktop.timedate1.set-local-rtc"), null],
  ["ipcamd", action("org.freedesktop.hostname1.set-static-hostname"), "yes"],
  ["ipcamd", action("org.freedesktop.hostname1.set-machine-info"), "yes"],
  ["ipcamd", action("org.freedesktop.hostname1.set-hostname"), null],
  ["ipcamd", action("org.freedesktop.network1.reload"), "yes"],
  ["ipcamd", action("org.freedesktop.network1.reconfigure"), "yes"],
  ["ipcamd", action("org.freedesktop.network1.set-dns-servers"), null],
  ["ipcamd", action("org.freedesktop.login1.reboot-multiple-sessions"), "yes"],
  ["ipcamd", action("org.freedesktop.login1.reboot-ignore-inhibit"), null],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "systemd-timesyncd.service", verb: "stop" }), null],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "systemd-timesyncd.service", verb: "start" }), null],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "ipcamd-pppoe.service", verb: "restart" }), "yes"],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "ipcamd-pppoe.service", verb: "stop" }), "yes"],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "wpa_supplicant@wlan0.service", verb: "restart" }), "yes"],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "wpa_supplicant@wlan0.service", verb: "stop" }), "yes"],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "wpa_supplicant.service", verb: "restart" }), null],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "wpa_supplicant@../x.service", verb: "restart" }), null],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "ipcamd.service", verb: "stop" }), null],
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "ipcamd-pppoe.service", verb: "reload-or-restart" }), null],
];
let failed = 0;
for (const [user, a, want] of cases) {
  const got = rule(a, { user });
  if (got !== want) { failed++; console.log(`FAIL ${user} ${a.id}: got ${got}, want ${want}`); }
}
console.log(failed ? "polkit rule: FAIL" : `polkit rule: OK (${cases.length} cases)`);
process.exit(failed ? 1 : 0);
