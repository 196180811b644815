package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestVersionAgrees checks that the one version number is the same in
// every place that states it: release here, package.json (the npm
// package), package-lock.json's copy, and the newest release in
// CHANGELOG.md.
func TestVersionAgrees(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"../../package.json", "../../package-lock.json"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var pkg struct {
				Version string `json:"version"`
			}
			if err := json.Unmarshal(data, &pkg); err != nil {
				t.Fatal(err)
			}
			if pkg.Version != release {
				t.Errorf("%s says version %q, cmd/skywasm's release is %q", file, pkg.Version, release)
			}
		})
	}
	t.Run("CHANGELOG.md", func(t *testing.T) {
		t.Parallel()
		data, err := os.ReadFile("../../CHANGELOG.md")
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+[^\]]*)\]`).FindSubmatch(data)
		if m == nil {
			t.Fatal("CHANGELOG.md has no release heading ## [x.y.z]")
		}
		if string(m[1]) != release {
			t.Errorf("CHANGELOG.md's newest release is %s, cmd/skywasm's release is %s", m[1], release)
		}
	})
	t.Run("skywasm version", func(t *testing.T) {
		t.Parallel()
		// A test binary has no link-time or module version: it is a
		// development build of this release.
		if v := buildVersion(); version == "" && !strings.HasPrefix(v, "v"+release+"-devel") {
			t.Errorf("buildVersion() = %q, want v%s…", v, release)
		}
	})
}
