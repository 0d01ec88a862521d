package bus

import (
	"context"
	"fmt"
	"log/slog"
)

// slogLogger routes nats-server's logs into slog. The server's notices are
// chatty start-up lines, so they go to debug.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Noticef(format string, v ...any) { s.log(slog.LevelDebug, format, v) }
func (s slogLogger) Warnf(format string, v ...any)   { s.log(slog.LevelWarn, format, v) }
func (s slogLogger) Fatalf(format string, v ...any)  { s.log(slog.LevelError, format, v) }
func (s slogLogger) Errorf(format string, v ...any)  { s.log(slog.LevelError, format, v) }
func (s slogLogger) Debugf(format string, v ...any)  { s.log(slog.LevelDebug, format, v) }
func (s slogLogger) Tracef(format string, v ...any)  { s.log(slog.LevelDebug-4, format, v) }

func (s slogLogger) log(level slog.Level, format string, v []any) {
	if !s.l.Enabled(context.Background(), level) {
		return
	}
	s.l.Log(context.Background(), level, fmt.Sprintf(format, v...))
}
