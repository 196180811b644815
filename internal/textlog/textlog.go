// Package textlog is a leveled logger that writes the lines log/slog's
// TextHandler writes (less the time), for the browser build of the SDK.
// log/slog with its handlers is about 40 KiB of sdk.wasm's brotli bytes;
// the SDK's few log calls need only this. It must stay a drop-in for the
// *slog.Logger methods the SDK calls (Debug, Info, Warn, Error with
// alternating keys and values), and nothing more: natively the SDK logs
// to log/slog itself.
package textlog

import (
	"encoding"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Level is a log level, with log/slog's values.
type Level int

// The levels, as log/slog numbers them.
const (
	LevelDebug Level = -4
	LevelInfo  Level = 0
	LevelWarn  Level = 4
	LevelError Level = 8
)

// String is the level's name in a line: DEBUG, INFO, WARN or ERROR.
func (l Level) String() string {
	switch {
	case l < LevelInfo:
		return "DEBUG"
	case l < LevelWarn:
		return "INFO"
	case l < LevelError:
		return "WARN"
	}
	return "ERROR"
}

// Logger writes the lines of its level and above to its output. A nil
// *Logger discards everything, as a slog.Logger over slog.DiscardHandler.
type Logger struct {
	min Level
	out func(level Level, line string)
}

// New returns a Logger that gives out each line of level min and above,
// without a trailing newline.
func New(min Level, out func(level Level, line string)) *Logger {
	return &Logger{min: min, out: out}
}

// Enabled reports whether l writes lines of level.
func (l *Logger) Enabled(level Level) bool { return l != nil && l.out != nil && level >= l.min }

// Debug logs msg and the key-value pairs args at LevelDebug.
func (l *Logger) Debug(msg string, args ...any) { l.Log(LevelDebug, msg, args...) }

// Info logs at LevelInfo.
func (l *Logger) Info(msg string, args ...any) { l.Log(LevelInfo, msg, args...) }

// Warn logs at LevelWarn.
func (l *Logger) Warn(msg string, args ...any) { l.Log(LevelWarn, msg, args...) }

// Error logs at LevelError.
func (l *Logger) Error(msg string, args ...any) { l.Log(LevelError, msg, args...) }

// Log logs msg and args at level: `level=WARN msg="…" key=value …`. args
// alternate string keys and values; a value with no string key before it
// gets the key !BADKEY, as in log/slog.
func (l *Logger) Log(level Level, msg string, args ...any) {
	if !l.Enabled(level) {
		return
	}
	b := make([]byte, 0, 64)
	b = append(b, "level="...)
	b = append(b, level.String()...)
	b = append(b, " msg="...)
	b = appendText(b, msg)
	for len(args) > 0 {
		key, ok := args[0].(string)
		if !ok || len(args) == 1 {
			key = "!BADKEY"
		} else {
			args = args[1:]
		}
		b = append(b, ' ')
		b = appendText(b, key)
		b = append(b, '=')
		b = appendValue(b, args[0])
		args = args[1:]
	}
	l.out(level, string(b))
}

// appendValue appends v as TextHandler does: a string as it is, an
// encoding.TextMarshaler as its text, []byte as a quoted string, anything
// else as fmt's %+v; quoted when it needs it.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendText(b, v)
	case encoding.TextMarshaler:
		text, err := v.MarshalText()
		if err != nil {
			return append(b, "!ERROR:"+err.Error()...)
		}
		return appendText(b, string(text))
	case []byte:
		return strconv.AppendQuote(b, string(v))
	}
	return appendText(b, fmt.Sprintf("%+v", v))
}

// appendText appends s, quoted by strconv.Quote when TextHandler would
// quote it: empty, or holding a space, '=', '"', a control character, or
// a rune that is invalid or not printable.
func appendText(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
