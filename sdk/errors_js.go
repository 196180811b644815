//go:build js && wasm

package sdk

import (
	"context"
	"errors"
)

// webrtcError types a failed browser call as ErrorWebRTC, saying what was
// being done. Closing (ErrClosed, a cancelled context) is not an error of
// the browser's and passes unchanged, as does an error typed already.
func webrtcError(what string, err error) error {
	var se *Error
	if err == nil || errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) || errors.As(err, &se) {
		return err
	}
	return newError(ErrorWebRTC, what, err)
}
