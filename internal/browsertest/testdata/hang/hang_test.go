//go:build js && wasm

// Package hang is a wasm test that never ends: TestRunFails in
// ../../browsertest_test.go checks that browsertest.Run kills it.
package hang

import (
	"testing"
	"time"
)

func TestHangs(t *testing.T) {
	t.Log("hanging")
	time.Sleep(time.Hour)
}
