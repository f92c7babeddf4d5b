// Command codesize enforces the project's size rules on non-test Go code:
// no function over 80 lines and no file over 600 lines. Cyclomatic
// complexity is gocyclo's job (make lint runs both). Usage:
//
//	go run ./internal/codesize [dir]
//
// It prints one line per offence and exits 1 when there is any.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	maxFuncLines = 80
	maxFileLines = 600
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	offences, err := check(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "codesize:", err)
		os.Exit(2)
	}
	for _, o := range offences {
		fmt.Println(o)
	}
	if len(offences) > 0 {
		os.Exit(1)
	}
}

// check walks root and returns every offence, as "path:line: what".
func check(root string) ([]string, error) {
	var offences []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		found, err := checkFile(path)
		offences = append(offences, found...)
		return err
	})
	return offences, err
}

func checkFile(path string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var offences []string
	if n := fset.File(f.Pos()).LineCount(); n > maxFileLines {
		offences = append(offences, fmt.Sprintf("%s: %d lines (at most %d)", path, n, maxFileLines))
	}
	ast.Inspect(f, func(n ast.Node) bool {
		var body *ast.BlockStmt
		name := "func literal"
		switch fn := n.(type) {
		case *ast.FuncDecl:
			body, name = fn.Body, fn.Name.Name
		case *ast.FuncLit:
			body = fn.Body
		}
		if body == nil {
			return true
		}
		start := fset.Position(n.Pos())
		if lines := fset.Position(body.Rbrace).Line - start.Line + 1; lines > maxFuncLines {
			offences = append(offences, fmt.Sprintf("%s:%d: %s is %d lines (at most %d)", path, start.Line, name, lines, maxFuncLines))
		}
		return true
	})
	return offences, nil
}
