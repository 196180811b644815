//go:build !js

package sdk

import "encoding/json"

// marshalUserJSON encodes a value the application gives (a connection's
// metadata, data sent under the json serialization), and
// unmarshalUserJSON decodes one for it: natively with encoding/json, so
// that its MarshalJSON methods and the rest of its rules apply. The
// signaling messages themselves go through minjson in every build.
func marshalUserJSON(v any) ([]byte, error) { return json.Marshal(v) }

func unmarshalUserJSON(data []byte, v any) error { return json.Unmarshal(data, v) }
