//go:build js && wasm

package main

import (
	"bytes"
	"log/slog"

	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
)

// consoleLogger is the SDK's logger for SkyWay's debug option: 0 (or none)
// logs nothing, 1 errors, 2 warnings too, 3 everything, to the console.
func consoleLogger(debug safejs.Value) *slog.Logger {
	level := int(numberOr(debug, 0))
	var min slog.Level
	switch {
	case level <= 0:
		return nil
	case level == 1:
		min = slog.LevelError
	case level == 2:
		min = slog.LevelWarn
	default:
		min = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(consoleWriter{}, &slog.HandlerOptions{
		Level: min,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // the console stamps its own time
			}
			return a
		},
	}))
}

// consoleWriter writes each log line to the console method of its level,
// which a TextHandler line starts with, so that the console's filters work.
type consoleWriter struct{}

func (consoleWriter) Write(p []byte) (int, error) {
	method := "log"
	switch {
	case bytes.HasPrefix(p, []byte("level=ERROR")):
		method = "error"
	case bytes.HasPrefix(p, []byte("level=WARN")):
		method = "warn"
	case bytes.HasPrefix(p, []byte("level=DEBUG")):
		method = "debug"
	}
	consoleLog(method, "skywasm: "+string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// consoleLog calls console[method](msg). A page that replaced console with
// something that throws loses the line, not the program.
func consoleLog(method, msg string) {
	var b jsutil.Batch
	b.Call(b.Global("console"), method, msg)
}
