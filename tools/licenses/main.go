// Command licenses lists the licenses of everything skywasm is built from:
// the Go modules bin/skywasm and sdk.wasm link (from the module graph,
// with each module's license file read from the module cache), the Go
// modules only the tests and tools use, and the npm packages of
// package-lock.json. It writes docs/licenses.md and NOTICE.
//
//	go run ./tools/licenses            # rewrite docs/licenses.md and NOTICE
//	go run ./tools/licenses -check     # fail if either is stale (make check)
//
// It fails on a license that Apache-2.0 cannot carry (GPL, LGPL, AGPL,
// SSPL, …) and on one it cannot recognise, so that a new dependency is
// looked at by a person before it ships. It is a build tool, not part of
// the server.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

const (
	mdPath     = "docs/licenses.md"
	noticePath = "NOTICE"
)

func main() {
	check := flag.Bool("check", false, "compare with the committed "+mdPath+" and "+noticePath+" instead of writing them")
	flag.Parse()
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, "licenses:", err)
		os.Exit(1)
	}
}

func run(check bool) error {
	inv, err := collect()
	if err != nil {
		return err
	}
	if bad := inv.incompatible(); len(bad) > 0 {
		return fmt.Errorf("licenses Apache-2.0 cannot carry, or not recognised (look at them, then teach classify): %s", strings.Join(bad, "; "))
	}
	files := map[string]string{mdPath: inv.markdown(), noticePath: inv.notice()}
	var stale []string
	for _, path := range []string{mdPath, noticePath} {
		if check {
			old, err := os.ReadFile(path)
			if err != nil || string(old) != files[path] {
				stale = append(stale, path)
			}
			continue
		}
		if err := os.WriteFile(path, []byte(files[path]), 0o644); err != nil {
			return fmt.Errorf("failed to write %s: %w", path, err)
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("%s out of date: run go run ./tools/licenses and commit the result", strings.Join(stale, " and "))
	}
	return nil
}

// module is one Go module and what we found of its license.
type module struct {
	Path, Version string
	Licenses      []string // SPDX identifiers
	Files         []string // license files, relative to the module
	Texts         []string // their contents
	Notice        string   // the module's NOTICE file, if it has one (Apache-2.0 §4(d))
	In            []string // "bin/skywasm", "sdk.wasm"; empty: tests and tools only
}

// npmPackage is one entry of package-lock.json.
type npmPackage struct {
	Name, Version, License string
	Shipped                bool
}

type inventory struct {
	goVersion string
	goLicense []string
	goText    string
	modules   []*module
	npm       []npmPackage
}

// targets are what skywasm distributes, with how each is built.
var targets = []struct {
	name string
	env  []string
	pkg  string
}{
	{"bin/skywasm", nil, "./cmd/skywasm"},
	{"sdk.wasm", []string{"GOOS=js", "GOARCH=wasm"}, "./wasm"},
}

func collect() (*inventory, error) {
	inv := &inventory{}
	byPath := map[string]*module{}
	add := func(target string, env []string, args ...string) error {
		cmd := exec.Command("go", append([]string{"list", "-deps", "-f", "{{with .Module}}{{.Path}}\t{{.Version}}\t{{.Dir}}{{end}}"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("failed to list the modules of %s: %w", strings.Join(args, " "), err)
		}
		for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(line, "\t")
			if len(f) != 3 || f[1] == "" { // the main module has no version
				continue
			}
			m := byPath[f[0]]
			if m == nil {
				m = &module{Path: f[0], Version: f[1]}
				if err := m.read(f[2]); err != nil {
					return err
				}
				byPath[f[0]] = m
			}
			if target != "" && !slices.Contains(m.In, target) {
				m.In = append(m.In, target)
			}
		}
		return nil
	}
	for _, t := range targets {
		if err := add(t.name, t.env, t.pkg); err != nil {
			return nil, err
		}
	}
	// Everything else go.mod holds that a build, a test or `go tool` uses.
	if err := add("", nil, "-test", "./...", "tool"); err != nil {
		return nil, err
	}
	for _, m := range byPath {
		inv.modules = append(inv.modules, m)
	}
	slices.SortFunc(inv.modules, func(a, b *module) int { return strings.Compare(a.Path, b.Path) })

	// The Go standard library and runtime are linked into both.
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("failed to find GOROOT: %w", err)
	}
	text, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "LICENSE"))
	if err != nil {
		return nil, fmt.Errorf("failed to read Go's license: %w", err)
	}
	inv.goLicense = classify(string(text))
	inv.goText = strings.TrimSpace(string(text))
	inv.goVersion = "the Go standard library and runtime"

	npm, err := readLock("package.json", "package-lock.json")
	if err != nil {
		return nil, err
	}
	inv.npm = npm
	return inv, nil
}

// read finds the module's license files in dir (its copy in the module
// cache): LICENSE*, LICENCE*, COPYING* at its root and REUSE's LICENSES/.
func (m *module) read(dir string) error {
	if dir == "" {
		return fmt.Errorf("%s@%s is not in the module cache: run go mod download", m.Path, m.Version)
	}
	var names []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("failed to read %s@%s: %w", m.Path, m.Version, err)
	}
	for _, e := range entries {
		up := strings.ToUpper(e.Name())
		switch {
		case e.IsDir() && up == "LICENSES":
			sub, err := os.ReadDir(filepath.Join(dir, e.Name()))
			if err != nil {
				return fmt.Errorf("failed to read %s@%s: %w", m.Path, m.Version, err)
			}
			for _, s := range sub {
				if !s.IsDir() {
					names = append(names, e.Name()+"/"+s.Name())
				}
			}
		case e.IsDir():
		case strings.HasPrefix(up, "LICENSE"), strings.HasPrefix(up, "LICENCE"), strings.HasPrefix(up, "COPYING"):
			names = append(names, e.Name())
		case up == "NOTICE" || up == "NOTICE.TXT" || up == "NOTICE.MD":
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return fmt.Errorf("failed to read %s@%s: %w", m.Path, m.Version, err)
			}
			m.Notice = strings.TrimSpace(string(data))
		}
	}
	slices.Sort(names)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return fmt.Errorf("failed to read %s@%s: %w", m.Path, m.Version, err)
		}
		m.Files = append(m.Files, n)
		m.Texts = append(m.Texts, strings.TrimSpace(string(data)))
		for _, id := range classify(string(data)) {
			if !slices.Contains(m.Licenses, id) {
				m.Licenses = append(m.Licenses, id)
			}
		}
	}
	slices.Sort(m.Licenses)
	return nil
}

// classify names the licenses a license file holds by their wording.
// Copyleft ones are checked first: their texts quote no permissive one.
func classify(text string) []string {
	t := strings.Join(strings.Fields(text), " ")
	var ids []string
	has := func(s ...string) bool {
		for _, x := range s {
			if !strings.Contains(t, x) {
				return false
			}
		}
		return true
	}
	switch {
	case has("GNU AFFERO GENERAL PUBLIC LICENSE"):
		return []string{"AGPL"}
	case has("GNU LESSER GENERAL PUBLIC LICENSE"), has("GNU LIBRARY GENERAL PUBLIC LICENSE"):
		return []string{"LGPL"}
	case has("GNU GENERAL PUBLIC LICENSE"):
		return []string{"GPL"}
	case has("Server Side Public License"):
		return []string{"SSPL"}
	}
	if has("Apache License", "Version 2.0") {
		ids = append(ids, "Apache-2.0")
	}
	if has("Permission is hereby granted, free of charge") {
		ids = append(ids, "MIT")
	}
	if has("Redistribution and use in source and binary forms") {
		if has("Neither the name") || has("may be used to endorse or promote") {
			ids = append(ids, "BSD-3-Clause")
		} else {
			ids = append(ids, "BSD-2-Clause")
		}
	}
	if has("Permission to use, copy, modify, and", "distribute this software for any purpose with or without fee") {
		ids = append(ids, "ISC")
	}
	if has("Mozilla Public License", "2.0") {
		ids = append(ids, "MPL-2.0")
	}
	if has("CC0 1.0 Universal") {
		ids = append(ids, "CC0-1.0")
	}
	if len(ids) == 0 {
		ids = []string{"unknown"}
	}
	return ids
}

// compatible are the licenses whose code Apache-2.0 software may link and
// distribute: permissive ones, and MPL-2.0 (file-level copyleft: its files
// stay MPL, the rest may be anything).
var compatible = map[string]bool{
	"Apache-2.0": true, "MIT": true, "BSD-2-Clause": true, "BSD-3-Clause": true,
	"ISC": true, "MPL-2.0": true, "0BSD": true, "CC0-1.0": true, "Unlicense": true,
	"BlueOak-1.0.0": true, "Python-2.0": true, "CC-BY-4.0": true,
}

// incompatible lists each module or package whose license is not known
// to be compatible. npm's license fields are SPDX expressions: an "OR"
// needs one compatible choice, an "AND" needs all.
func (inv *inventory) incompatible() []string {
	var bad []string
	for _, id := range inv.goLicense {
		if !compatible[id] {
			bad = append(bad, "Go: "+id)
		}
	}
	for _, m := range inv.modules {
		if len(m.Licenses) == 0 {
			bad = append(bad, m.Path+": no license file")
		}
		for _, id := range m.Licenses {
			if !compatible[id] {
				bad = append(bad, m.Path+": "+id)
			}
		}
	}
	for _, p := range inv.npm {
		if !spdxCompatible(p.License) {
			bad = append(bad, "npm "+p.Name+": "+or(p.License, "no license field"))
		}
	}
	return bad
}

func spdxCompatible(expr string) bool {
	expr = strings.Trim(strings.TrimSpace(expr), "()")
	if expr == "" {
		return false
	}
	for alt := range strings.SplitSeq(expr, " OR ") {
		ok := true
		for part := range strings.SplitSeq(alt, " AND ") {
			if !compatible[strings.Trim(strings.TrimSpace(part), "()")] {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// readLock reads the npm packages of package-lock.json; those named in
// package.json's dependencies (not devDependencies) ship with the package.
func readLock(pkgPath, lockPath string) ([]npmPackage, error) {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	var lock struct {
		Packages map[string]struct {
			Version string          `json:"version"`
			License json.RawMessage `json:"license"`
			Dev     bool            `json:"dev"`
		} `json:"packages"`
	}
	for path, v := range map[string]any{pkgPath: &pkg, lockPath: &lock} {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", path, err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			return nil, fmt.Errorf("failed to decode %s: %w", path, err)
		}
	}
	var out []npmPackage
	for key, p := range lock.Packages {
		name, ok := strings.CutPrefix(key, "node_modules/")
		if !ok { // "" is skywasm itself
			continue
		}
		if i := strings.LastIndex(name, "/node_modules/"); i >= 0 {
			name = name[i+len("/node_modules/"):]
		}
		var lic string
		if err := json.Unmarshal(p.License, &lic); err != nil && len(p.License) > 0 {
			lic = string(p.License)
		}
		_, shipped := pkg.Dependencies[name]
		out = append(out, npmPackage{Name: name, Version: p.Version, License: lic, Shipped: shipped && !p.Dev})
	}
	slices.SortFunc(out, func(a, b npmPackage) int {
		return cmpOr(strings.Compare(a.Name, b.Name), strings.Compare(a.Version, b.Version))
	})
	out = slices.Compact(out)
	return out, nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (inv *inventory) markdown() string {
	var b bytes.Buffer
	b.WriteString("# Licenses\n\n")
	b.WriteString("skywasm is licensed under the Apache License, Version 2.0 (see [LICENSE](../LICENSE)). ")
	b.WriteString("This file lists the licenses of everything it is built from. It is generated by `go run ./tools/licenses` ")
	b.WriteString("from the module graph (go.mod, with each module's license file from the module cache) and package-lock.json; ")
	b.WriteString("`make check` fails when it is out of date, or when a dependency's license is one that Apache-2.0 software cannot carry (GPL, LGPL, AGPL, SSPL) or that the tool does not recognise.\n\n")

	b.WriteString("## Go modules linked into what skywasm distributes\n\n")
	b.WriteString("bin/skywasm (the server) and sdk.wasm (the browser SDK, shipped in the npm package) link these, and ")
	fmt.Fprintf(&b, "%s (%s). Their license texts follow at the end of this file, as their licenses ask of a binary distribution.\n\n", inv.goVersion, strings.Join(inv.goLicense, ", "))
	b.WriteString("| Module | Version | License | Linked into |\n|---|---|---|---|\n")
	for _, m := range inv.modules {
		if len(m.In) > 0 {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.Path, m.Version, strings.Join(m.Licenses, ", "), strings.Join(m.In, ", "))
		}
	}

	b.WriteString("\n## Go modules used only to build, test and benchmark\n\n")
	b.WriteString("Not linked into bin/skywasm or sdk.wasm: tests, the benchmarks' own command and `go tool` tools.\n\n")
	b.WriteString("| Module | Version | License |\n|---|---|---|\n")
	for _, m := range inv.modules {
		if len(m.In) == 0 {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", m.Path, m.Version, strings.Join(m.Licenses, ", "))
		}
	}

	shipped := 0
	for _, p := range inv.npm {
		if p.Shipped {
			shipped++
		}
	}
	b.WriteString("\n## npm packages\n\n")
	if shipped == 0 {
		b.WriteString("The npm package skywasm has no dependencies: none of these ships with it. They are development dependencies ")
		b.WriteString("(the TypeScript checker, the browser driver of the tests, PeerJS and peerjs-server for the benchmarks) and theirs, from package-lock.json.\n\n")
	} else {
		fmt.Fprintf(&b, "%d of these ship with the npm package skywasm (its dependencies); the rest are development dependencies, from package-lock.json.\n\n", shipped)
	}
	b.WriteString("| Package | Version | License | Ships |\n|---|---|---|---|\n")
	for _, p := range inv.npm {
		ships := "no"
		if p.Shipped {
			ships = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", p.Name, p.Version, or(p.License, "—"), ships)
	}

	b.WriteString("\n## License texts of the linked Go modules\n")
	fmt.Fprintf(&b, "\n### Go — LICENSE\n\n```text\n%s\n```\n", inv.goText)
	for _, m := range inv.modules {
		if len(m.In) == 0 {
			continue
		}
		for i, f := range m.Files {
			fmt.Fprintf(&b, "\n### %s — %s\n\n```text\n%s\n```\n", m.Path, f, strings.ReplaceAll(m.Texts[i], "```", "'''"))
		}
	}
	return b.String()
}

// notice is NOTICE: skywasm's own line and, as Apache-2.0 §4(d) asks,
// the NOTICE of every Apache-2.0 module that bin/skywasm or sdk.wasm links.
func (inv *inventory) notice() string {
	var b strings.Builder
	b.WriteString("skywasm\nCopyright 2026 the skywasm authors\n\n")
	b.WriteString("This product is licensed under the Apache License, Version 2.0 (LICENSE).\n")
	b.WriteString("It includes software from the Go project and from the Go modules listed in\n")
	b.WriteString("docs/licenses.md, under their own licenses, whose texts that file holds.\n")
	var names []string
	for _, m := range inv.modules {
		if len(m.In) > 0 && m.Notice != "" {
			names = append(names, m.Path)
			fmt.Fprintf(&b, "\n-- %s %s (linked into %s) --\n\n%s\n", m.Path, m.Version, strings.Join(m.In, ", "), m.Notice)
		}
	}
	if len(names) == 0 {
		b.WriteString("\nNo module it links has a NOTICE file.\n")
	}
	return b.String()
}
