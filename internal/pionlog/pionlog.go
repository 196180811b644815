// Package pionlog sends pion's logs (pion/webrtc, ice, turn) to slog, one
// level lower than pion gives them: pion warns of routine events (a
// discarded candidate, a closed connection, a client gone before its
// answer) that are not an operator's concern, and logs per packet at Debug
// and Trace. The SFU and the TURN server share it.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Factory implements logging.LoggerFactory over a slog.Logger.
type Factory struct{ L *slog.Logger }

// New returns a Factory logging to l.
func New(l *slog.Logger) Factory { return Factory{L: l} }

// NewLogger implements logging.LoggerFactory; scope becomes an attribute.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return logger{f.L.With("scope", scope)}
}

type logger struct{ l *slog.Logger }

func (p logger) log(level slog.Level, msg string) {
	p.l.Log(context.Background(), level, msg)
}

// logf formats only when the level is on, as pion logs per packet.
func (p logger) logf(level slog.Level, format string, args ...any) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (p logger) Trace(msg string)                  { p.log(slog.LevelDebug-4, msg) }
func (p logger) Tracef(format string, args ...any) { p.logf(slog.LevelDebug-4, format, args...) }
func (p logger) Debug(msg string)                  { p.log(slog.LevelDebug-4, msg) }
func (p logger) Debugf(format string, args ...any) { p.logf(slog.LevelDebug-4, format, args...) }
func (p logger) Info(msg string)                   { p.log(slog.LevelDebug, msg) }
func (p logger) Infof(format string, args ...any)  { p.logf(slog.LevelDebug, format, args...) }
func (p logger) Warn(msg string)                   { p.log(slog.LevelInfo, msg) }
func (p logger) Warnf(format string, args ...any)  { p.logf(slog.LevelInfo, format, args...) }
func (p logger) Error(msg string)                  { p.log(slog.LevelWarn, msg) }
func (p logger) Errorf(format string, args ...any) { p.logf(slog.LevelWarn, format, args...) }
