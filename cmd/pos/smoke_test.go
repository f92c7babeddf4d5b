package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTmuxSmoke builds the real binary, runs `pos --demo` in tmux and walks
// the Alipay flow with real key presses, checking every screen. tmux groups
// fast typing into one burst ("1234"), which teatest never does.
func TestTmuxSmoke(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatal("tmux is needed (make test installs it)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pos")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	state := filepath.Join(dir, "state")
	shots := filepath.Join(dir, "shots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := fmt.Sprintf("multipos-smoke-%d", os.Getpid())
	tm := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(tmux, append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	script := fmt.Sprintf("%s --demo; echo EXIT=$?; sleep 60", bin)
	tm("new-session", "-d", "-s", "pos", "-x", "80", "-y", "24",
		"-e", "TERM=xterm-256color", "-e", "XDG_STATE_HOME="+state, "-e", "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"-e", "LANG=C.UTF-8", script)
	t.Cleanup(func() { _ = exec.Command(tmux, "-L", sock, "kill-server").Run() })

	step := 0
	screen := ""
	waitFor := func(texts ...string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			screen = tm("capture-pane", "-p", "-t", "pos")
			ok := true
			for _, s := range texts {
				ok = ok && strings.Contains(screen, s)
			}
			if ok {
				step++
				_ = os.WriteFile(filepath.Join(shots, fmt.Sprintf("%02d.txt", step)), []byte(screen), 0o644)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("step %d: screen never showed %q; it shows:\n%s", step+1, texts, screen)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	send := func(keys ...string) { tm(append([]string{"send-keys", "-t", "pos"}, keys...)...) }

	waitFor("请选择支付通道", "1  支付宝 Alipay", "单笔限额 ¥20,000.00", "在线", "演示 DEMO")
	send("1")
	waitFor("欢迎使用支付宝收款")
	send("Enter")
	waitFor("1  扫码支付")
	send("Enter")
	waitFor("请输入金额")
	send("-l", "1234") // one burst, as a fast typist or a keypad sends it
	waitFor("¥ 12.34")
	send("Enter")
	waitFor("请顾客扫码付款", "剩余时间", "等待顾客付款", "█")
	// The QR code must leave the header and the status bar on screen: a
	// view taller than the terminal loses its top lines.
	rows := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if !strings.Contains(rows[0], "扫码支付") || !strings.Contains(rows[len(rows)-1], "T0000001") {
		t.Fatalf("the QR screen does not fit 80x24:\n%s", screen)
	}
	send("F5")
	waitFor("支付成功", "¥12.34")
	send("Enter")
	waitFor("商户存根已打印", "演示")
	send("Enter")
	waitFor("顾客联已打印")
	send("Enter")
	waitFor("请选择支付通道")
	send("C-c")
	waitFor("EXIT=0", "last payment: alipay SUCCESS")

	receipts, _ := filepath.Glob(filepath.Join(state, "multipos", "demo", "*", "receipts", "*.txt"))
	if len(receipts) != 2 {
		t.Fatalf("saved receipts %v, want the merchant and the customer copy", receipts)
	}
	for _, r := range receipts {
		b, _ := os.ReadFile(r)
		if !strings.Contains(string(b), "DEMO") || !strings.Contains(string(b), "12.34") {
			t.Fatalf("receipt %s lacks the DEMO mark or the amount:\n%s", r, b)
		}
	}
}
