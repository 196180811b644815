//go:build js && wasm

package sdk

import "github.com/skywasm/skywasm/internal/textlog"

// Logger is what PeerOptions.Logger takes: in the browser build a
// textlog.Logger, whose Debug, Info, Warn and Error write the lines of
// log/slog's TextHandler without log/slog in sdk.wasm (see the package
// doc's Wasm section); natively a *slog.Logger.
type Logger = textlog.Logger

// discardLogger logs nothing: a nil *textlog.Logger discards.
func discardLogger() *Logger { return nil }
