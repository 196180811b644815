package textlog

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// slogLine is the line log/slog's TextHandler writes for the same call,
// without its time: the format textlog promises.
func slogLine(t *testing.T, level Level, msg string, args ...any) string {
	t.Helper()
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	slog.New(h).Log(t.Context(), slog.Level(level), msg, args...)
	return strings.TrimSuffix(buf.String(), "\n")
}

type stringer struct{}

func (stringer) String() string { return "a stringer" }

func TestLineMatchesSlog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		level Level
		msg   string
		args  []any
	}{
		{"plain", LevelDebug, "open", []any{"id", "abc", "first", true}},
		{"quoted message", LevelWarn, "malformed OPEN", []any{"err", errors.New(`unexpected "x" at 3`)}},
		{"empty message and value", LevelInfo, "", []any{"k", ""}},
		{"numbers and durations", LevelError, "reconnecting", []any{"in", 1500 * time.Millisecond, "n", 42, "x", -0.5, "u", uint16(7)}},
		{"equals and control characters", LevelDebug, "a=b", []any{"k", "line\nbreak", "tab", "a\tb", "del", "a\x7fb"}},
		{"unicode", LevelDebug, "café ☕", []any{"k", "naïve", "nbsp", "a\u00a0b", "bad", "a\xffb", "repl", "\ufffd"}},
		{"backslash", LevelDebug, `a\b`, []any{"path", `C:\x`}},
		{"nil and stringers", LevelDebug, "m", []any{"nil", nil, "s", stringer{}, "err", error(nil)}},
		{"text marshaler", LevelDebug, "m", []any{"addr", netip.MustParseAddr("127.0.0.1")}},
		{"bytes", LevelDebug, "m", []any{"b", []byte("hi there")}},
		{"odd key", LevelDebug, "m", []any{"a", 1, "dangling"}},
		{"non-string key", LevelDebug, "m", []any{3, "x", "k", "v"}},
		{"key needing quotes", LevelDebug, "m", []any{"a key", 1}},
		{"struct", LevelDebug, "m", []any{"v", struct{ A, B int }{1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			var gotLevel Level
			New(LevelDebug, func(level Level, line string) { gotLevel, got = level, line }).Log(tt.level, tt.msg, tt.args...)
			if want := slogLine(t, tt.level, tt.msg, tt.args...); got != want {
				t.Errorf("line\n got %q\nwant %q", got, want)
			}
			if gotLevel != tt.level {
				t.Errorf("level %v, want %v", gotLevel, tt.level)
			}
		})
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	var lines []string
	l := New(LevelWarn, func(_ Level, line string) { lines = append(lines, line) })
	l.Debug("d")
	l.Info("i")
	l.Warn("w")
	l.Error("e")
	want := []string{"level=WARN msg=w", "level=ERROR msg=e"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", lines, want)
	}
	for _, lv := range []Level{LevelDebug, LevelInfo, LevelWarn, LevelError, LevelDebug - 1, LevelError + 3} {
		if got, want := lv.String(), slog.Level(lv).String(); !strings.HasPrefix(want, got) {
			t.Errorf("Level(%d).String() = %q, slog says %q", lv, got, want)
		}
	}
}

func TestNilDiscards(t *testing.T) {
	t.Parallel()
	var l *Logger
	if l.Enabled(LevelError) {
		t.Error("a nil Logger is enabled")
	}
	l.Error("nothing", "k", "v") // must not panic
}

func TestNothingFormattedBelowLevel(t *testing.T) {
	l := New(LevelError, func(Level, string) { t.Error("wrote a line below its level") })
	allocs := testing.AllocsPerRun(100, func() { l.Debug("m", "k", "v") })
	if allocs != 0 {
		t.Errorf("a disabled Debug allocates %v times", allocs)
	}
}
