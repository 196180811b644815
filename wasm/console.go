//go:build js && wasm

package main

import (
	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/internal/textlog"
)

// consoleLogger is the SDK's logger for SkyWay's debug option: 0 (or none)
// logs nothing, 1 errors, 2 warnings too, 3 everything, to the console.
// It is a textlog.Logger, not log/slog, which would add about 40 KiB to
// sdk.wasm's download.
func consoleLogger(debug safejs.Value) *textlog.Logger {
	level := int(numberOr(debug, 0))
	var min textlog.Level
	switch {
	case level <= 0:
		return nil
	case level == 1:
		min = textlog.LevelError
	case level == 2:
		min = textlog.LevelWarn
	default:
		min = textlog.LevelDebug
	}
	return textlog.New(min, consoleLine)
}

// consoleLine writes a log line to the console method of its level, so
// that the console's filters work.
func consoleLine(level textlog.Level, line string) {
	method := "log"
	switch {
	case level >= textlog.LevelError:
		method = "error"
	case level >= textlog.LevelWarn:
		method = "warn"
	case level < textlog.LevelInfo:
		method = "debug"
	}
	consoleLog(method, "skywasm: "+line)
}

// consoleLog calls console[method](msg). A page that replaced console with
// something that throws loses the line, not the program.
func consoleLog(method, msg string) {
	var b jsutil.Batch
	b.Call(b.Global("console"), method, msg)
}
