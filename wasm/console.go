//go:build js && wasm

package main

import (
	"bytes"
	"log/slog"
	"syscall/js"
)

// consoleLogger is the SDK's logger for SkyWay's debug option: 0 (or none)
// logs nothing, 1 errors, 2 warnings too, 3 everything, to the console.
func consoleLogger(debug js.Value) *slog.Logger {
	level := 0
	if t, ok := typeOf(debug); ok && t == js.TypeNumber {
		level = debug.Int()
	}
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
	js.Global().Get("console").Call(method, "skywasm: "+string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
