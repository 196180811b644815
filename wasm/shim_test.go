//go:build !js

package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// shimPath is the shim, whose bridgeMethods literal is its half of the
// bridge's contract.
const shimPath = "../js/skywasm.js"

var (
	methodsLiteral = regexp.MustCompile(`(?s)\n  const bridgeMethods = \{\n(.*?)\n  \};\n`)
	methodsOfKind  = regexp.MustCompile(`(?s)(\w+): \[(.*?)\]`)
	quoted         = regexp.MustCompile(`"(\w+)"`)
	callSite       = regexp.MustCompile(`\bM\.(\w+)\.(\w+)`)
	literalCall    = regexp.MustCompile(`(invoke|connectionCall|roomCall)\([^)]*?"`)
	comment        = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
)

// shimMethods reads the shim's bridgeMethods literal: the names of the
// bridge's methods by kind, and the source after it without its comments,
// where they are called.
func shimMethods(t *testing.T) (map[string][]string, string) {
	t.Helper()
	src, err := os.ReadFile(shimPath)
	if err != nil {
		t.Fatal(err)
	}
	loc := methodsLiteral.FindSubmatchIndex(src)
	if loc == nil {
		t.Fatalf("%s has no `const bridgeMethods = {…};` literal", shimPath)
	}
	kinds := map[string][]string{}
	for _, k := range methodsOfKind.FindAllStringSubmatch(string(src[loc[2]:loc[3]]), -1) {
		for _, n := range quoted.FindAllStringSubmatch(k[2], -1) {
			kinds[k[1]] = append(kinds[k[1]], n[1])
		}
	}
	if len(kinds) == 0 {
		t.Fatalf("%s: no kinds in its bridgeMethods literal", shimPath)
	}
	return kinds, comment.ReplaceAllString(string(src[loc[1]:]), "")
}

// TestShimCallSites checks the shim against its own list: it calls the
// bridge only as M.kind.name with a listed name, and calls every listed one.
func TestShimCallSites(t *testing.T) {
	kinds, rest := shimMethods(t)
	called := map[string]bool{}
	for _, m := range callSite.FindAllStringSubmatch(rest, -1) {
		if !slices.Contains(kinds[m[1]], m[2]) {
			t.Errorf("%s calls %s, which its bridgeMethods literal does not list", shimPath, m[0])
		}
		called[m[1]+"."+m[2]] = true
	}
	for k, names := range kinds {
		for _, n := range names {
			if !called[k+"."+n] {
				t.Errorf("%s lists %s.%s in bridgeMethods but never calls M.%s.%s", shimPath, k, n, k, n)
			}
		}
	}
	if m := literalCall.FindString(rest); m != "" {
		t.Errorf("%s names a bridge method by a string literal (%s…): name it as M.kind.name", shimPath, m)
	}
}

// shimMethodsEnv is the shim's bridge methods as JSON for the wasm tests,
// which compare them with Go's tables (TestMethodsMatchShim).
func shimMethodsEnv(t *testing.T) string {
	kinds, _ := shimMethods(t)
	text, err := json.Marshal(kinds)
	if err != nil {
		t.Fatal(err)
	}
	return "SKYWASM_SHIM_METHODS=" + strings.TrimSpace(string(text))
}
