package registry

import (
	"context"
	"fmt"
	"log/slog"
)

// GoRedisLogger passes go-redis's internal messages to a slog.Logger at
// debug level. go-redis otherwise prints every failed dial of an outage to
// stderr, while the registry already logs the outage once. Its logger is
// global, so only a program's main installs this:
// redis.SetLogger(registry.GoRedisLogger{Logger: l}).
type GoRedisLogger struct {
	Logger *slog.Logger
}

// Printf implements go-redis's internal.Logging.
func (g GoRedisLogger) Printf(ctx context.Context, format string, v ...any) {
	if g.Logger != nil {
		g.Logger.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
	}
}
