//go:build js && wasm

package datapack

import "fmt"

// appendReflect, in the browser build, refuses a value that appendValue's
// type switch does not know. There the values come from JavaScript (the
// bridge makes nil, bool, int64, uint64, float64, string, []byte, File,
// time.Time, []any and map[string]any of them), never Go structs or typed
// collections, and the reflection encoder of reflect.go and fields.go,
// with the methods it keeps reachable (time.Time's String and Format among
// them), is about 29 KiB of sdk.wasm's brotli bytes (quality 9).
func appendReflect(b []byte, v any, _ int) ([]byte, error) {
	return b, fmt.Errorf("%w: %T (the browser build packs only the types JavaScript values become)", ErrUnsupported, v)
}
