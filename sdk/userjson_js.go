//go:build js && wasm

package sdk

import "github.com/skywasm/skywasm/internal/minjson"

// marshalUserJSON encodes a value the application gives (a connection's
// metadata, data sent under the json serialization), and
// unmarshalUserJSON decodes one for it. In the browser such a value comes
// from JavaScript, already JSON's shapes (or JSON text), so minjson does,
// and encoding/json stays out of sdk.wasm.
func marshalUserJSON(v any) ([]byte, error) { return minjson.Marshal(v) }

func unmarshalUserJSON(data []byte, v any) error { return minjson.Unmarshal(data, v) }
