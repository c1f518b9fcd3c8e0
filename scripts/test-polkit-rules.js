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
  ["ipcamd", action("org.freedesktop.systemd1.manage-units", { unit: "systemd-timesyncd.service", verb: "stop" }), null],
];
let failed = 0;
for (const [user, a, want] of cases) {
  const got = rule(a, { user });
  if (got !== want) { failed++; console.log(`FAIL ${user} ${a.id}: got ${got}, want ${want}`); }
}
console.log(failed ? "polkit rule: FAIL" : `polkit rule: OK (${cases.length} cases)`);
process.exit(failed ? 1 : 0);
