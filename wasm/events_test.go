//go:build !js

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// typesPath declares the events a page may listen to, per object.
const typesPath = "../js/index.d.ts"

var (
	eventsInterface = regexp.MustCompile(`(?s)\n    interface (\w+Events) \{\n(.*?)\n    \}\n`)
	eventMember     = regexp.MustCompile(`(?m)^        (\w+): \(`)
	goEmit          = regexp.MustCompile(`\.emit(?:Adopted)?\([^,()]+, "(\w+)"`)
	goEventConst    = regexp.MustCompile(`\bevent\w+\s+= "(\w+)"`)
	shimEmit        = regexp.MustCompile(`\.emit\("(\w+)"`)
)

// TestEventNamesDeclared checks the events' names between the bridge and
// the types pages compile against: every name Go emits (or the shim emits
// itself) is declared in one of index.d.ts's event maps, and every declared
// name is emitted somewhere. A misspelt event would otherwise reach no
// listener, and TypeScript would still accept the listener.
func TestEventNamesDeclared(t *testing.T) {
	types, err := os.ReadFile(typesPath)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string][]string{} // name → the maps declaring it
	for _, m := range eventsInterface.FindAllStringSubmatch(string(types), -1) {
		for _, e := range eventMember.FindAllStringSubmatch(m[2], -1) {
			declared[e[1]] = append(declared[e[1]], m[1])
		}
	}
	for _, want := range []string{"PeerEvents", "MediaConnectionEvents", "DataConnectionEvents", "RoomEvents"} {
		if !strings.Contains(string(types), "interface "+want+" {") {
			t.Errorf("%s has no interface %s", typesPath, want)
		}
	}
	if len(declared) == 0 {
		t.Fatalf("%s: no event names found in its *Events interfaces", typesPath)
	}

	emitted := map[string]string{"error": "emitError"} // name → where
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range []*regexp.Regexp{goEmit, goEventConst} {
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				emitted[m[1]] = f
			}
		}
	}
	shim, err := os.ReadFile(shimPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range shimEmit.FindAllStringSubmatch(string(shim), -1) {
		emitted[m[1]] = shimPath
	}

	for name, where := range emitted {
		if len(declared[name]) == 0 {
			t.Errorf("%s emits %q, which no event map of %s declares", where, name, typesPath)
		}
	}
	names := make([]string, 0, len(declared))
	for name := range declared {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, ok := emitted[name]; !ok {
			t.Errorf("%s declares %q in %v, which neither the bridge nor the shim emits", typesPath, name, declared[name])
		}
	}
}
