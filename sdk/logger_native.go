//go:build !js

package sdk

import "log/slog"

// Logger is what PeerOptions.Logger takes: natively a *slog.Logger; in
// the browser build a smaller logger with the same methods (see the
// package doc's Wasm section).
type Logger = slog.Logger

// discardLogger logs nothing.
func discardLogger() *Logger { return slog.New(slog.DiscardHandler) }
