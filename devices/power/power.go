package power

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/multipos/multipos/i18n"
)

// Root is where Linux lists power supplies.
const Root = "/sys/class/power_supply"

// LowPercent is the charge at or below which a battery on its own is shown
// as low.
const LowPercent = 15

// Status is the station's power as the status bar shows it.
type Status struct {
	Present    bool // any system power supply was found
	OnAC       bool // mains or USB power is connected
	HasBattery bool
	Percent    int  // battery charge 0-100; -1 when no battery reports it
	Charging   bool // some battery is charging
}

// Read reads the supplies under root (normally Root). A missing root, as
// on a desktop without power-supply drivers or outside Linux, is not an
// error: it gives a Status with Present false. Batteries of peripherals
// (a wireless mouse reports "scope = Device") are not the station's and
// are ignored. With several batteries, Percent is their combined charge:
// weighted by capacity when every battery reports its energy or charge,
// else the plain average of their capacity percentages.
func Read(root string) (Status, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("read power supplies: %w", err)
	}
	var (
		st        Status
		percents  []int
		now, full float64
		weighted  = true
	)
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		typ := attr(dir, "type")
		if typ == "" || strings.EqualFold(attr(dir, "scope"), "Device") {
			continue
		}
		switch {
		case typ == "Battery":
			st.Present, st.HasBattery = true, true
			status := attr(dir, "status")
			if status == "Charging" { // charging needs power from somewhere
				st.Charging, st.OnAC = true, true
			}
			n, f, hasEnergy := energy(dir)
			weighted = weighted && hasEnergy
			now, full = now+n, full+f
			if p, ok := number(dir, "capacity"); ok {
				percents = append(percents, int(p))
			} else if hasEnergy {
				percents = append(percents, int(100*n/f+0.5))
			}
		case typ == "Mains" || strings.HasPrefix(typ, "USB") || typ == "Wireless":
			st.Present = true
			if on, ok := number(dir, "online"); ok && on > 0 {
				st.OnAC = true
			}
		}
	}
	switch {
	case weighted && full > 0:
		st.Percent = int(100*now/full + 0.5)
	case len(percents) > 0:
		sum := 0
		for _, p := range percents {
			sum += p
		}
		st.Percent = (sum + len(percents)/2) / len(percents)
	case st.HasBattery:
		st.Percent = -1
	}
	if st.Percent >= 0 {
		st.Percent = min(st.Percent, 100)
	}
	return st, nil
}

// energy returns a battery's present and full energy (or charge, for
// batteries that count in µAh).
func energy(dir string) (now, full float64, ok bool) {
	for _, unit := range []string{"energy", "charge"} {
		n, ok1 := number(dir, unit+"_now")
		f, ok2 := number(dir, unit+"_full")
		if ok1 && ok2 && f > 0 {
			return n, f, true
		}
	}
	return 0, 0, false
}

func attr(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func number(dir, name string) (float64, bool) {
	v, err := strconv.ParseFloat(attr(dir, name), 64)
	return v, err == nil && v >= 0
}

// Text is the status bar's power field: "电池 87%" / "BAT 87%" (no
// percentage when the charge is unknown), with "充电中" / "CHG" while
// charging, "交流电" / "AC" on mains, "电量低" / "LOW" on a low battery with
// no mains; "" when the PC reports no power supply.
func (s Status) Text(lang i18n.Lang) string {
	if !s.Present {
		return ""
	}
	if !s.HasBattery {
		if s.OnAC {
			return lang.Pick("交流电", "AC")
		}
		return ""
	}
	text := lang.Pick("电池", "BAT")
	if s.Percent >= 0 {
		text += " " + strconv.Itoa(s.Percent) + "%"
	}
	switch {
	case s.Charging:
		text += lang.Pick(" 充电中", " CHG")
	case s.OnAC:
		text = lang.Pick("交流电 ", "AC ") + text
	case s.Percent >= 0 && s.Percent <= LowPercent:
		text += lang.Pick(" 电量低", " LOW")
	}
	return text
}
