package power

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/multipos/multipos/i18n"
)

// sysfs builds a fake /sys/class/power_supply: supply name → attribute → value.
func sysfs(t *testing.T, supplies map[string]map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, attrs := range supplies {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for k, v := range attrs {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestRead(t *testing.T) {
	for _, c := range []struct {
		name     string
		supplies map[string]map[string]string
		want     Status
		zh, en   string
	}{
		{"nothing", map[string]map[string]string{}, Status{}, "", ""},
		{"desktop on mains", map[string]map[string]string{"AC": {"type": "Mains", "online": "1"}},
			Status{Present: true, OnAC: true}, "交流电", "AC"},
		{"laptop discharging", map[string]map[string]string{
			"AC":   {"type": "Mains", "online": "0"},
			"BAT0": {"type": "Battery", "status": "Discharging", "capacity": "87"},
		}, Status{Present: true, HasBattery: true, Percent: 87}, "电池 87%", "BAT 87%"},
		{"laptop charging", map[string]map[string]string{
			"ADP1": {"type": "Mains", "online": "1"},
			"BAT0": {"type": "Battery", "status": "Charging", "capacity": "40"},
		}, Status{Present: true, OnAC: true, HasBattery: true, Percent: 40, Charging: true}, "电池 40% 充电中", "BAT 40% CHG"},
		{"full on mains", map[string]map[string]string{
			"AC":   {"type": "Mains", "online": "1"},
			"BAT0": {"type": "Battery", "status": "Full", "capacity": "100"},
		}, Status{Present: true, OnAC: true, HasBattery: true, Percent: 100}, "交流电 电池 100%", "AC BAT 100%"},
		{"low", map[string]map[string]string{
			"BAT0": {"type": "Battery", "status": "Discharging", "capacity": "9"},
		}, Status{Present: true, HasBattery: true, Percent: 9}, "电池 9% 电量低", "BAT 9% LOW"},
		{"usb-c power", map[string]map[string]string{
			"ucsi-source-psy-USBC000:001": {"type": "USB", "online": "1"},
			"BAT1":                        {"type": "Battery", "status": "Not charging", "capacity": "80"},
		}, Status{Present: true, OnAC: true, HasBattery: true, Percent: 80}, "交流电 电池 80%", "AC BAT 80%"},
		{"two batteries weighted by energy", map[string]map[string]string{
			"BAT0": {"type": "Battery", "status": "Discharging", "capacity": "100", "energy_now": "20000000", "energy_full": "20000000"},
			"BAT1": {"type": "Battery", "status": "Discharging", "capacity": "0", "energy_now": "0", "energy_full": "60000000"},
		}, Status{Present: true, HasBattery: true, Percent: 25}, "电池 25%", "BAT 25%"},
		{"two batteries averaged", map[string]map[string]string{
			"BAT0": {"type": "Battery", "capacity": "90"},
			"BAT1": {"type": "Battery", "capacity": "51"},
		}, Status{Present: true, HasBattery: true, Percent: 71}, "电池 71%", "BAT 71%"},
		{"charge counters only", map[string]map[string]string{
			"BAT0": {"type": "Battery", "status": "Discharging", "charge_now": "1500000", "charge_full": "3000000"},
		}, Status{Present: true, HasBattery: true, Percent: 50}, "电池 50%", "BAT 50%"},
		{"mouse battery ignored", map[string]map[string]string{
			"hid-00:11:22-battery": {"type": "Battery", "scope": "Device", "capacity": "5", "status": "Discharging"},
			"AC":                   {"type": "Mains", "online": "1"},
		}, Status{Present: true, OnAC: true}, "交流电", "AC"},
		{"garbage", map[string]map[string]string{
			"BAT0":  {"type": "Battery", "capacity": "lots"},
			"weird": {"online": "1"},
		}, Status{Present: true, HasBattery: true, Percent: -1}, "电池", "BAT"},
		{"capacity above 100", map[string]map[string]string{
			"BAT0": {"type": "Battery", "capacity": "104", "status": "Full"},
		}, Status{Present: true, HasBattery: true, Percent: 100}, "电池 100%", "BAT 100%"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Read(sysfs(t, c.supplies))
			if err != nil || got != c.want {
				t.Fatalf("Read = %+v, %v; want %+v", got, err, c.want)
			}
			if zh, en := got.Text(i18n.ZH), got.Text(i18n.EN); zh != c.zh || en != c.en {
				t.Errorf("Text = %q / %q, want %q / %q", zh, en, c.zh, c.en)
			}
		})
	}
}

func TestReadMissingRoot(t *testing.T) {
	st, err := Read(filepath.Join(t.TempDir(), "none"))
	if err != nil || st.Present || st.Text(i18n.EN) != "" {
		t.Errorf("missing root: %+v, %v", st, err)
	}
}

func TestReadRootIsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := Read(f); err == nil {
		t.Error("a root that is a file should be an error")
	}
}

// Real sysfs entries are symlinks into /sys/devices.
func TestReadSymlinks(t *testing.T) {
	devices := sysfs(t, map[string]map[string]string{"BAT0": {"type": "Battery", "capacity": "66"}})
	root := t.TempDir()
	if err := os.Symlink(filepath.Join(devices, "BAT0"), filepath.Join(root, "BAT0")); err != nil {
		t.Fatal(err)
	}
	if st, err := Read(root); err != nil || st.Percent != 66 {
		t.Errorf("through a symlink: %+v, %v", st, err)
	}
}
