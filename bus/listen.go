package bus

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// checkListen tries the embedded server's listen address before the
// server starts: nats-server only logs a failure to listen, so a taken
// port would show as a server never ready, after the whole start timeout.
// Port 0 (any free port) needs no check.
func checkListen(addr string) error {
	if addr == "" {
		return nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
		return nil // serverOptions reports a malformed address
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("starting embedded NATS: nats.listen %s is already in use (another taskrouter serve or a nats-server?); stop that process or choose another address: %w", addr, err)
		}
		return fmt.Errorf("starting embedded NATS: cannot listen on nats.listen %s: %w", addr, err)
	}
	return l.Close()
}
