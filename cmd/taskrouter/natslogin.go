package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/taskrouter/taskrouter/bus"
)

// busConfig is the bus of this process: its login to nats.url, or the
// embedded server's users, TLS and monitoring. inbox is the inbox prefix
// of its connections; "" takes the one its user's permissions allow (an
// executor's or a producer's own, see userInbox). Secrets are read from
// the environment here; a missing one is a usage error naming its
// variable.
func busConfig(cfg Config, getenv func(string) string, inbox string, log *slog.Logger) (bus.Config, error) {
	n := cfg.NATS
	if inbox == "" && n.URL != "" {
		inbox = userInbox(n)
	}
	bc := bus.Config{URL: n.URL, Listen: n.Listen, StoreDir: n.StoreDir, InboxPrefix: inbox, Logger: log}
	if n.URL != "" {
		opts, err := natsLogin(n, getenv)
		bc.Options = opts
		return bc, err
	}
	auth, err := embeddedAuth(cfg, getenv)
	if err != nil {
		return bc, err
	}
	bc.Auth, bc.TLS, bc.MonitorAddr = auth, n.TLS.files(), n.MonitorAddr
	if n.MonitorAddr != "" && !bus.IsLoopback(n.MonitorAddr) {
		log.Warn("nats.monitor_addr serves NATS's monitoring endpoints to other machines without a login; keep it on loopback or behind a firewall",
			"monitor_addr", n.MonitorAddr)
	}
	return bc, nil
}

// natsLogin is this process's login to nats.url.
func natsLogin(n NATSConfig, getenv func(string) string) ([]nats.Option, error) {
	opts, err := n.TLS.files().ClientOptions()
	if err != nil {
		return nil, usageError{err.Error()}
	}
	secret := func(key, name string) (string, error) {
		v := getenv(name)
		if v == "" {
			return "", usageError{fmt.Sprintf("nats.%s: %s is empty or unset", key, name)}
		}
		return v, nil
	}
	switch {
	case n.User != "":
		pw, err := secret("password_env", n.PasswordEnv)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserInfo(n.User, pw))
	case n.TokenEnv != "":
		tok, err := secret("token_env", n.TokenEnv)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Token(tok))
	case n.NkeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(n.NkeySeedFile)
		if err != nil {
			return nil, usageError{fmt.Sprintf("nats.nkey_seed_file: %v", err)}
		}
		opts = append(opts, o)
	case n.CredsFile != "":
		if _, err := os.Stat(n.CredsFile); err != nil {
			return nil, usageError{fmt.Sprintf("nats.creds_file: %v", err)}
		}
		opts = append(opts, nats.UserCredentials(n.CredsFile))
	}
	return opts, nil
}

// embeddedAuth is who may use the embedded server, with the passwords and
// the token read from their variables.
func embeddedAuth(cfg Config, getenv func(string) string) (bus.Auth, error) {
	n := cfg.NATS
	auth := bus.Auth{AllowAnonymous: n.AllowAnonymous, Windows: responseWindows(cfg.Router)}
	if n.TokenEnv != "" {
		if auth.Token = getenv(n.TokenEnv); auth.Token == "" {
			return auth, usageError{fmt.Sprintf("nats.token_env: %s is empty or unset; it is the token every client of the embedded server must give", n.TokenEnv)}
		}
	}
	for i, u := range n.Users {
		pw := ""
		if u.PasswordEnv != "" {
			if pw = getenv(u.PasswordEnv); pw == "" {
				return auth, usageError{fmt.Sprintf("nats.users[%d] (%s): password_env %s is empty or unset", i, u.Name, u.PasswordEnv)}
			}
		}
		auth.Users = append(auth.Users, u.busUser(pw))
	}
	return auth, nil
}

// responseWindows: an executor may answer a subtask until its deadline
// (the subtask timeout at most) after up to 30 s in its queue; a router
// answers a request within the request timeout.
func responseWindows(r RouterConfig) bus.Windows {
	const queueing = 30 * time.Second
	return bus.Windows{Dispatch: r.SubtaskTimeout + queueing, Request: r.RequestTimeout + queueing}
}

// producerInbox is the inbox prefix of a producer: nats.inbox_prefix, or
// the one its user's permissions allow.
func producerInbox(n NATSConfig) string { return userInbox(n) }

// userInbox is the inbox prefix of a client of nats.url other than a
// router: nats.inbox_prefix, or _INBOX.<nats.user>, the only inbox that
// an executor's or a producer's permissions let it read (so that no user
// reads another's replies); NATS's default without a user name.
func userInbox(n NATSConfig) string {
	switch {
	case n.InboxPrefix != "":
		return n.InboxPrefix
	case n.User != "":
		return bus.InboxPrefix(n.User)
	}
	return ""
}
