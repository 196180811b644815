//go:build js && wasm

package main

import (
	"errors"

	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk"
)

// errInternal is the type of an error that is skywasm's own bug: a panic
// the bridge recovered. SkyWay had no such type.
const errInternal sdk.ErrorType = "internal-error"

// jsErrorCtor is Error: looked up once, while nothing on the page can have
// replaced it.
var jsErrorCtor, _ = safejs.Global().Get("Error")

// jsError turns err into a JavaScript Error whose `type` is SkyWay's error
// type when err has one, as pages read it (`err.type`). A JavaScript
// exception the bridge caught itself, outside the SDK, is typed webrtc too,
// as the SDK types those of the browser's calls.
func jsError(err error) safejs.Value {
	msg, typ := err.Error(), sdk.ErrorType("")
	var se *sdk.Error
	var je *jsutil.Exception
	switch {
	case errors.As(err, &se):
		typ, msg = se.Type, se.Message
		if se.Err != nil {
			msg += ": " + se.Err.Error()
		}
	case errors.Is(err, sdk.ErrClosed):
		// What SkyWay said of a method called after destroy or close.
		typ = protocol.ErrDisconnected
	case errors.As(err, &je):
		typ = sdk.ErrorWebRTC
	}
	var b jsutil.Batch
	e := b.New(jsErrorCtor, msg)
	if typ != "" {
		b.Set(e, "type", string(typ))
	}
	if se != nil && se.ConnectionID != "" {
		b.Set(e, "connectionId", se.ConnectionID)
	}
	if b.Err() != nil {
		// Error itself threw: the page gets the message at least.
		v, _ := safejs.ValueOf(msg)
		return v
	}
	return e
}
