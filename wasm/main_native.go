//go:build !js

package main

import (
	"fmt"
	"os"
)

// main explains itself: the bridge exists only in the browser build. This
// file lets native tools (go vet ./..., go test ./...) build the package.
func main() {
	fmt.Fprintln(os.Stderr, "skywasm's wasm bridge runs only in a browser: build it with GOOS=js GOARCH=wasm (make wasm)")
	os.Exit(2)
}
