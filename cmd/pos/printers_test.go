package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/sandbox/netprinter"
)

func printerConfig(t *testing.T, printer string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pos.toml")
	body := "[reader]\nkind = \"none\"\n[printer]\n" + printer
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDoctorPrintsATestPage(t *testing.T) {
	np, err := netprinter.Start(netprinter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer np.Close()
	cfg := printerConfig(t, fmt.Sprintf("kind = \"tcp\"\naddr = %q\nprofile = \"80mm\"\n", np.Addr()))
	var out, errOut bytes.Buffer
	if code := doctor([]string{"--config", cfg, "--print-test"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sheets, err := np.WaitSheets(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	page := sheets[0].Text()
	ruler := strings.Repeat("1234567890", 5)[:48]
	text := out.String()
	for _, want := range []string{"配置 configured: tcp " + np.Addr() + " (tcp, 48 columns, chinese=fs, cut=partial)", "状态 status: 就绪 ready", "测试页已打印 test page printed", "| " + ruler} {
		if !strings.Contains(text, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(page, "\n"+ruler+"\n") || !strings.Contains(page, "中文：银联 支付宝 微信支付") || !sheets[0].Cut {
		t.Errorf("the printer printed:\n%s", page)
	}

	np.PaperOut()
	out.Reset()
	if code := doctor([]string{"--config", cfg, "--print-test"}, &out, &errOut); code != 1 || !strings.Contains(out.String(), "缺纸 paper out") {
		t.Fatalf("exit %d with the paper out:\n%s", code, out.String())
	}
	np.GoAway()
	out.Reset()
	if code := doctor([]string{"--config", cfg}, &out, &errOut); code != 1 || !strings.Contains(out.String(), "离线 offline") {
		t.Fatalf("exit %d with the printer away:\n%s", code, out.String())
	}
}

func TestDoctorWithoutPrinter(t *testing.T) {
	var out, errOut bytes.Buffer
	cfg := printerConfig(t, "kind = \"none\"\n")
	if code := doctor([]string{"--config", cfg}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "无 none") || !strings.Contains(out.String(), "USB: ") {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
}
