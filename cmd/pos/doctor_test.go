package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/devices/pcsc/pcsctest"
	"github.com/multipos/multipos/sandbox/emvcard"
)

func TestDoctorReadsTheCard(t *testing.T) {
	rig := pcsctest.Start(t)
	ctx := context.Background()
	card := emvcard.MustNew(emvcard.Data{}, emvcard.Options{Directory: emvcard.DirPSE})
	if err := rig.Insert(ctx, 0, card); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rig.Remove(0) })
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rig.WaitCard(wctx, 0, true); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := doctor(nil, &out, &errOut); code != 0 {
		t.Fatalf("pos doctor exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	text := out.String()
	for _, want := range []string{
		"读卡器 Virtual PCD 00 00: 有卡 card present",
		"A000000333010101 UnionPay Debit 621234******0001 12/30",
		"读卡器 Virtual PCD 00 01: 无卡 empty",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("pos doctor output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text+errOut.String(), emvcard.DefaultData.PAN) {
		t.Error("pos doctor printed the full card number")
	}
}

func TestDoctorWithoutPcscd(t *testing.T) {
	sock := pcsctest.Reserve(t)
	if _, err := os.Stat(sock); err == nil {
		t.Fatalf("a test left pcscd running at %s (use pcsctest.Start without pcsctest.Main here)", sock)
	}
	var out, errOut bytes.Buffer
	if code := doctor(nil, &out, &errOut); code != 1 {
		t.Fatalf("exit %d without pcscd, want 1\n%s%s", code, out.String(), errOut.String())
	}
	msg := errOut.String()
	if !strings.Contains(msg, "读卡服务 pcscd 未运行") || !strings.Contains(msg, "pcscd is not running") {
		t.Errorf("message without pcscd:\n%s", msg)
	}
}

func TestDoctorBadArgument(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := doctor([]string{"now"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `"now"`) {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
