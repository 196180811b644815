//go:build js && wasm

package sdk

import "github.com/skywasm/skywasm/internal/textlog"

// Logger is what PeerOptions.Logger takes: in the browser build a
// textlog.Logger, whose Debug, Info, Warn and Error write the lines of
// log/slog's TextHandler without log/slog in sdk.wasm (see the package
// doc's Wasm section); natively a *slog.Logger.
type Logger = textlog.Logger

// LogLevel is a browser Logger's level, with log/slog's values.
type LogLevel = textlog.Level

// The levels of a browser Logger, as log/slog numbers them.
const (
	LogDebug LogLevel = textlog.LevelDebug
	LogInfo  LogLevel = textlog.LevelInfo
	LogWarn  LogLevel = textlog.LevelWarn
	LogError LogLevel = textlog.LevelError
)

// NewLogger returns a browser Logger that gives out each line of level min
// and above, without a trailing newline, to out.
func NewLogger(min LogLevel, out func(level LogLevel, line string)) *Logger {
	return textlog.New(min, out)
}

// discardLogger logs nothing: a nil *textlog.Logger discards.
func discardLogger() *Logger { return nil }
