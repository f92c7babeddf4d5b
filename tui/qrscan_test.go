package tui

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The QR codes the app draws must scan: render the half-block text the way
// the screen shows it (light modules in the foreground on a dark background)
// into a PNG and decode it with zbarimg, as a phone camera would.
func TestDrawnQRCodesScan(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Fatal("zbarimg is needed (Debian package zbar-tools; make test installs it)")
	}
	for _, content := range []string{
		"https://qr.alipay.com/bax03431ljhokirwl38f00a7",
		"weixin://wxpay/bizpayurl?pr=Xq7Ab9Z",
	} {
		code, err := renderQR(content)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "qr.png")
		writeHalfBlockPNG(t, code, path)
		out, err := exec.Command(zbar, "--raw", "-q", path).Output()
		if err != nil {
			t.Fatalf("zbarimg could not decode the drawn code for %q: %v", content, err)
		}
		if got := strings.TrimSpace(string(out)); got != content {
			t.Fatalf("decoded %q, want %q", got, content)
		}
	}
}

// writeHalfBlockPNG draws a half-block QR text as pixels: each character
// cell is one module wide and two modules tall, with a dark surround as on a
// dark terminal.
func writeHalfBlockPNG(t *testing.T, text, path string) {
	t.Helper()
	const scale, border = 8, 4
	lines := strings.Split(text, "\n")
	w := 0
	for _, l := range lines {
		w = max(w, len([]rune(l)))
	}
	img := image.NewGray(image.Rect(0, 0, (w+2*border)*scale, (len(lines)*2+2*border)*scale))
	set := func(mx, my int, light bool) {
		c := color.Gray{Y: 0}
		if light {
			c = color.Gray{Y: 255}
		}
		for y := 0; y < scale; y++ {
			for x := 0; x < scale; x++ {
				img.SetGray((mx+border)*scale+x, (my+border)*scale+y, c)
			}
		}
	}
	for row, l := range lines {
		for col, r := range []rune(l) {
			top := r == '█' || r == '▀'
			bottom := r == '█' || r == '▄'
			set(col, row*2, top)
			set(col, row*2+1, bottom)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}
