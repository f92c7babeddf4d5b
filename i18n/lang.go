package i18n

import (
	"fmt"
	"strings"
)

// Lang is a display language.
type Lang string

const (
	ZH Lang = "zh" // Simplified Chinese (zh-CN), the default at the counter
	EN Lang = "en" // English
)

// Parse accepts "zh", "zh-CN", "zh_CN", "cn", "en", "en-US", … in any case.
func Parse(s string) (Lang, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case t == "zh" || t == "cn" || strings.HasPrefix(t, "zh-") || strings.HasPrefix(t, "zh_"):
		return ZH, nil
	case t == "en" || strings.HasPrefix(t, "en-") || strings.HasPrefix(t, "en_"):
		return EN, nil
	}
	return "", fmt.Errorf("unknown language %q (use zh or en)", s)
}

// Other returns the other language, for the toggle on the function key.
func (l Lang) Other() Lang {
	if l == EN {
		return ZH
	}
	return EN
}

// Pick returns zh or en according to l.
func (l Lang) Pick(zh, en string) string {
	if l == EN {
		return en
	}
	return zh
}
