//go:build js && wasm

package main

import (
	"errors"
	"syscall/js"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk"
)

// errInternal is the type of an error that is skywasm's own bug: a panic
// the bridge recovered. SkyWay had no such type.
const errInternal sdk.ErrorType = "internal-error"

var jsErrorCtor = js.Global().Get("Error")

// jsError turns err into a JavaScript Error whose `type` is SkyWay's error
// type when err has one, as pages read it (`err.type`).
func jsError(err error) js.Value {
	msg, typ := err.Error(), sdk.ErrorType("")
	var se *sdk.Error
	switch {
	case errors.As(err, &se):
		typ, msg = se.Type, se.Message
		if se.Err != nil {
			msg += ": " + se.Err.Error()
		}
	case errors.Is(err, sdk.ErrClosed):
		// What SkyWay said of a method called after destroy or close.
		typ = protocol.ErrDisconnected
	}
	e := jsErrorCtor.New(msg)
	if typ != "" {
		e.Set("type", string(typ))
	}
	if se != nil && se.ConnectionID != "" {
		e.Set("connectionId", se.ConnectionID)
	}
	return e
}
