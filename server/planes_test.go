package server_test

import (
	"errors"
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is the import path of the repository root, which is the parent of
// this package's directory.
const module = "github.com/skywasm/skywasm"

// TestPlanesApart holds the planes to their layering: the media plane and
// the signaling plane meet only in server/routing, so neither imports the
// other, directly or through a package in between. Their tests may not
// import the other plane either, though they may reach it through an
// integration harness (internal/sdktest starts a whole server).
func TestPlanesApart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pkg, forbidden string
	}{
		{"server/sfu", "server/signaling"},
		{"server/signaling", "server/sfu"},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			t.Parallel()
			if path := importPath(t, module+"/"+tt.pkg, module+"/"+tt.forbidden); path != nil {
				t.Errorf("%s imports %s: %s", tt.pkg, tt.forbidden, strings.Join(path, " -> "))
			}
		})
	}
}

// importPath returns a chain of imports from pkg to forbidden, or nil. The
// chain may start with one of pkg's tests' imports only if that import is
// forbidden itself. Only this module's packages are followed:
// no dependency outside it can import one of them.
func importPath(t *testing.T, pkg, forbidden string) []string {
	t.Helper()
	from := map[string]string{pkg: ""} // each package found, and who imports it
	queue := []string{pkg}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == forbidden {
			var chain []string
			for p := cur; p != ""; p = from[p] {
				chain = append(chain, strings.TrimPrefix(p, module+"/"))
			}
			slices.Reverse(chain)
			return chain
		}
		dir := filepath.Join("..", filepath.FromSlash(strings.TrimPrefix(cur, module)))
		bp, err := build.ImportDir(dir, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			continue
		}
		if err != nil {
			t.Fatalf("failed to read the imports of %s: %v", cur, err)
		}
		imports := bp.Imports
		if cur == pkg && (slices.Contains(bp.TestImports, forbidden) || slices.Contains(bp.XTestImports, forbidden)) {
			return []string{strings.TrimPrefix(pkg, module+"/") + " (tests)", strings.TrimPrefix(forbidden, module+"/")}
		}
		for _, imp := range imports {
			if _, seen := from[imp]; seen || (imp != module && !strings.HasPrefix(imp, module+"/")) {
				continue
			}
			from[imp] = cur
			queue = append(queue, imp)
		}
	}
	return nil
}
