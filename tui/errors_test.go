package tui

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/i18n"
)

// apiConstants lists the wire package's string constants whose names start
// with prefix, read from its source so that a code added there is tested
// here without anyone remembering to.
func apiConstants(t *testing.T, prefix string) map[string]string {
	t.Helper()
	path := reflect.TypeOf(api.Error{}).PkgPath()
	bp, err := build.Import(path, ".", build.FindOnly)
	if err != nil {
		t.Fatalf("finding %s: %v", path, err)
	}
	files, err := filepath.Glob(filepath.Join(bp.Dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if lit, ok := valueAt(vs, i).(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.HasPrefix(n.Name, prefix) {
						out[n.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s constants in %s", prefix, path)
	}
	return out
}

func valueAt(vs *ast.ValueSpec, i int) ast.Expr {
	if i < len(vs.Values) {
		return vs.Values[i]
	}
	return nil
}

// Every error code of the server has a text in both languages; none shows
// the code itself, and a code this station does not know gets a sentence.
func TestEveryServerCodeHasItsText(t *testing.T) {
	m := testModel(t, testOptions())
	c := m.c
	generic := map[i18n.Lang]string{}
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		c.Lang = lang
		generic[lang] = errText(m.b(), &api.Error{Code: "no_such_code_yet"})
		if strings.Contains(generic[lang], "no_such_code_yet") {
			t.Errorf("%s: an unknown code is shown raw: %q", lang, generic[lang])
		}
	}
	codes := apiConstants(t, "Code")
	if codes["CodeNotAdjustable"] != api.CodeNotAdjustable || codes["CodeTraceUsed"] != api.CodeTraceUsed {
		t.Fatalf("the codes read from the source: %v", codes)
	}
	for name, code := range codes {
		for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
			c.Lang = lang
			got := errText(m.b(), &api.Error{Code: code, Message: "m"})
			switch {
			case strings.Contains(got, code):
				t.Errorf("%s %s: the code is shown: %q", lang, name, got)
			case got == generic[lang] && code != api.CodeUnsupportedMediaType:
				t.Errorf("%s %s: only the generic text: %q", lang, name, got)
			}
		}
	}
	reasons := apiConstants(t, "Adjust")
	seen := map[string]string{}
	for name, reason := range reasons {
		for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
			c.Lang = lang
			got := errText(m.b(), &api.Error{Code: api.CodeNotAdjustable, Reason: reason, Limit: 1200})
			if got == reason || got == c.t("adj.other") || strings.Contains(got, api.CodeNotAdjustable) {
				t.Errorf("%s %s: raw: %q", lang, name, got)
			}
			if other, dup := seen[string(lang)+got]; dup {
				t.Errorf("%s: %s and %s say the same: %q", lang, name, other, got)
			}
			seen[string(lang)+got] = name
		}
	}
}
