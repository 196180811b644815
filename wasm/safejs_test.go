//go:build !js

package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// jsAllowed lists the files of the JavaScript boundary that may still
// import syscall/js, and the only names of it each may use. Everything else
// goes through github.com/hack-pad/safejs, whose calls return a
// JavaScript exception as an error where syscall/js panics.
var jsAllowed = map[string][]string{
	// The exported API speaks js.Value, as pion's JSValue() does, so that
	// a Go program hands the SDK what it got from syscall/js; the file
	// wraps it at once and calls nothing of syscall/js.
	"sdk/mediastream_js.go": {"Value"},
	// Likewise DataConnection.OnRawData hands its handler the js.Value
	// of an ArrayBuffer; wasm's handler wraps it at once to emit it.
	"sdk/datachannel_js.go": {"Value"},
	"wasm/conn.go":          {"Value"},
	// safejs wraps a thrown value as a js.Error and offers no accessor for
	// it: reading the exception's name and message needs the type.
	"internal/jsutil/jsutil_js.go": {"Error"},
}

// TestSafeJSBoundary fails on any use of syscall/js in sdk/, wasm/ and
// internal/jsutil/ outside jsAllowed. Tests (_test.go) play the page's part
// and may use it: a panic there fails the test, which is what a test wants.
func TestSafeJSBoundary(t *testing.T) {
	var files []string
	for _, dir := range []string{"../sdk", "../wasm", "../internal/jsutil"} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 10 {
		t.Fatalf("found only %d files: run from wasm/", len(files))
	}
	fset := token.NewFileSet()
	for _, path := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(path, "../"))
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		name := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "syscall/js" {
				name = "js"
				if imp.Name != nil {
					name = imp.Name.Name
				}
			}
		}
		if name == "" {
			continue
		}
		allowed, ok := jsAllowed[rel]
		if !ok {
			t.Errorf("%s imports syscall/js: use github.com/hack-pad/safejs (or justify it in jsAllowed)", rel)
			continue
		}
		full, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(full, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == name && !slices.Contains(allowed, sel.Sel.Name) {
				t.Errorf("%s: %s.%s: only %v of syscall/js are allowed here; use safejs", fset.Position(sel.Pos()), name, sel.Sel.Name, allowed)
			}
			return true
		})
	}
}
