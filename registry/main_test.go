package registry

import (
	"log/slog"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	// The outage test stops a Redis on purpose; its failed dials are noise.
	redis.SetLogger(GoRedisLogger{Logger: slog.New(slog.DiscardHandler)})
	os.Exit(m.Run())
}
