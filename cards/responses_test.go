package cards

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTexts(t *testing.T) {
	codes := strings.Fields("00 01 03 05 12 13 14 25 30 41 43 51 54 55 57 58 61 65 75 77 91 94 95 96 A0")
	for _, c := range codes {
		zh, en := ResponseText(c, true), ResponseText(c, false)
		if _, ok := responseTexts[c]; !ok || zh == "" || en == "" || zh == en {
			t.Errorf("%s: %q / %q", c, zh, en)
		}
		if utf8.RuneCountInString(zh) == len(zh) {
			t.Errorf("%s: Chinese text is ASCII: %q", c, zh)
		}
	}
	if ResponseText("00", true) != "交易成功" || ResponseText("51", false) != "Insufficient funds" {
		t.Error("wrong text")
	}
	if !strings.Contains(ResponseText("Q9", false), "Q9") || !strings.Contains(ResponseText("Q9", true), "Q9") {
		t.Error("unknown code must show the code")
	}
}
