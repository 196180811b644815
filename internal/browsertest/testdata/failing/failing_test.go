//go:build js && wasm

// Package failing is a wasm test that always fails: TestRunFails in
// ../../browsertest_test.go checks that browsertest.Run reports it.
package failing

import "testing"

func TestFails(t *testing.T) {
	t.Error("deliberate failure")
}
