package tui_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/i18n"
)

// The trainer's 日结 key on the channel list ends the demo's day: the
// station tells the trainer what to run in a second shell, on an 80x24
// screen with the keys still there; the same key again says the day is
// ended already.
func TestTrainerEndsTheDay(t *testing.T) {
	t.Parallel()
	env := startDemo(t, demo.Options{})
	f := newFlow(t, env, appOptions(env, i18n.ZH, func() time.Time { return fixedNow }))
	f.waitFor("单笔限额 ¥", "在线", "F9 日结")
	f.key(tea.KeyF9)
	f.waitFor("已日结", "在另一个终端运行")
	b, err := os.ReadFile(filepath.Join(env.Dir, demo.PlantedFile))
	if err != nil || !strings.Contains(string(b), "posserver reconcile --config "+filepath.Join(env.Dir, demo.ServerConfigFile)) {
		t.Fatalf("%s: %v\n%s", demo.PlantedFile, err, b)
	}
	f.key(tea.KeyF9)
	f.waitFor("已日结过")
	m := f.finish()
	lines := strings.Split(m.View(), "\n")
	if len(lines) != 24 || !strings.Contains(lines[22], "F9 日结") {
		t.Fatalf("%d lines, help %q", len(lines), lines[len(lines)-2])
	}
	for _, l := range lines {
		if ansi.StringWidth(l) > 80 {
			t.Fatalf("line wider than 80: %q", l)
		}
	}
}
