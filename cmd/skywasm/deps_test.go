package main

import (
	"os/exec"
	"strings"
	"testing"
)

// notInTheServer are the packages, each with everything below it, that
// bin/skywasm must not link: the client SDK, the load generators and the
// test harnesses. The shipped binary holds the product only.
var notInTheServer = []string{
	"github.com/skywasm/skywasm/sdk",
	"github.com/skywasm/skywasm/bench",
	"github.com/skywasm/skywasm/internal/sdktest",
	"github.com/skywasm/skywasm/internal/browsertest",
	"testing",
	"net/http/httptest",
}

// TestDependencies lists what `go build ./cmd/skywasm` links, as the go
// command sees it, and fails on any package of notInTheServer.
func TestDependencies(t *testing.T) {
	t.Parallel()
	goCmd := goTool(t)
	cmd := exec.Command(goCmd, "list", "-deps", "-f", "{{.ImportPath}}", ".")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, &stderr)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatalf("%s listed nothing", strings.Join(cmd.Args, " "))
	}
	for _, dep := range deps {
		for _, bad := range notInTheServer {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("cmd/skywasm links %s (under %s): the server binary must not hold the SDK, a load generator or a test harness; find the import with: go list -deps -f '{{.ImportPath}}: {{.Imports}}' ./cmd/skywasm | grep %s",
					dep, bad, dep)
			}
		}
	}
}

// goTool finds the go command on PATH, as internal/browsertest does: the
// one that runs this test under make test and go test.
func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("failed to find the go command: %v", err)
	}
	return p
}
