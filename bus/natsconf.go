package bus

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ServerFile is what a printed nats-server configuration holds: the same
// users, permissions, accounts, TLS and monitoring as the embedded server
// would have, for operators who run their own NATS.
type ServerFile struct {
	// Listen is the client address (default 0.0.0.0:4222).
	Listen string
	// StoreDir is JetStream's directory; empty leaves nats-server's default.
	StoreDir    string
	TLS         TLSFiles
	MonitorAddr string
	// Auth's users must name their passwords by variable (PasswordEnv):
	// nats-server reads them from its environment when it starts.
	Auth Auth
	// TokenEnv names the variable of a shared token, instead of users.
	TokenEnv string
	// ServerName names the server; a server of a JetStream cluster needs one.
	ServerName string
	// Cluster, when set, makes the server one of a cluster.
	Cluster *ClusterFile
}

// ClusterFile is a server's place in a NATS cluster.
type ClusterFile struct {
	// Name is the cluster's name, the same on every server.
	Name string
	// Listen is where this server takes routes from the others (host:port).
	Listen string
	// Routes are the route addresses (host:port) of every server of the
	// cluster; a server ignores its own.
	Routes []string
}

// WriteServerFile writes c in nats-server's configuration syntax.
func WriteServerFile(w io.Writer, c ServerFile) error {
	for _, u := range c.Auth.Users {
		if u.Nkey == "" && u.PasswordEnv == "" {
			return fmt.Errorf("bus: user %s: a printed configuration names passwords by variable; set password_env", u.Name)
		}
	}
	if len(c.Auth.Users) == 0 && c.TokenEnv == "" && !c.Auth.AllowAnonymous {
		return errors.New("bus: a server for other machines needs nats.users (or nats.token_env, or nats.allow_anonymous: true)")
	}
	cw := &confWriter{w: w}
	cw.line(0, "# nats-server configuration printed by `taskrouter nats-config`: the users and")
	cw.line(0, "# permissions of taskrouter's roles. Passwords and tokens are read from the")
	cw.line(0, "# environment variables named below ($NAME) when nats-server starts.")
	if c.ServerName != "" {
		cw.line(0, "server_name: %s", quote(c.ServerName))
	}
	cw.line(0, "listen: %s", quote(cmpOr(c.Listen, "0.0.0.0:4222")))
	cw.line(0, "max_payload: 8MB")
	if c.MonitorAddr != "" {
		cw.line(0, "http: %s", quote(c.MonitorAddr))
	}
	if c.StoreDir != "" {
		cw.line(0, "jetstream { store_dir: %s }", quote(c.StoreDir))
	} else {
		cw.line(0, "jetstream: enabled")
	}
	cw.tls(c.TLS)
	cw.cluster(c.Cluster)
	if c.TokenEnv != "" {
		cw.line(0, "authorization { token: $%s }", c.TokenEnv)
		return cw.err
	}
	cw.accounts(c.Auth)
	return cw.err
}

// cluster writes the routes between the servers. Routes carry every
// message of every account, unauthenticated: the cluster's addresses
// belong on a private network.
func (cw *confWriter) cluster(c *ClusterFile) {
	if c == nil {
		return
	}
	routes := make([]string, len(c.Routes))
	for i, r := range c.Routes {
		routes[i] = "nats-route://" + r
	}
	cw.line(0, "# The routes between the servers carry every message, without logins: keep")
	cw.line(0, "# the cluster addresses on a private network, or firewalled to the servers.")
	cw.line(0, "cluster {")
	cw.line(1, "name: %s", quote(c.Name))
	cw.line(1, "listen: %s", quote(c.Listen))
	cw.line(1, "routes: %s", quoteList(routes))
	cw.line(0, "}")
}

type confWriter struct {
	w   io.Writer
	err error
}

func (cw *confWriter) line(indent int, format string, args ...any) {
	if cw.err == nil {
		_, cw.err = fmt.Fprintf(cw.w, "%s%s\n", strings.Repeat("  ", indent), fmt.Sprintf(format, args...))
	}
}

func (cw *confWriter) tls(t TLSFiles) {
	if t.CertFile == "" {
		return
	}
	cw.line(0, "tls {")
	cw.line(1, "cert_file: %s", quote(t.CertFile))
	cw.line(1, "key_file: %s", quote(t.KeyFile))
	if t.CAFile != "" {
		cw.line(1, "# clients must present a certificate signed by this CA")
		cw.line(1, "ca_file: %s", quote(t.CAFile))
		cw.line(1, "verify: %t", !t.Insecure)
	}
	cw.line(0, "}")
}

func (cw *confWriter) accounts(a Auth) {
	cw.line(0, "system_account: %s", SystemAccount)
	if a.AllowAnonymous {
		cw.line(0, "# nats.allow_anonymous: clients without credentials get full rights")
		cw.line(0, "no_auth_user: %s", anonymousUser)
	}
	cw.line(0, "accounts {")
	cw.line(1, "%s {", Account)
	cw.line(2, "jetstream: enabled")
	cw.line(2, "users: [")
	if a.AllowAnonymous {
		cw.line(3, "{user: %s, password: %s}", anonymousUser, quote(anonymousUser))
	}
	for _, u := range a.Users {
		if u.Role != RoleAdmin {
			cw.user(u, a.Windows)
		}
	}
	cw.line(2, "]")
	cw.line(1, "}")
	cw.line(1, "%s {", SystemAccount)
	cw.line(2, "users: [")
	for _, u := range a.Users {
		if u.Role == RoleAdmin {
			cw.user(u, a.Windows)
		}
	}
	cw.line(2, "]")
	cw.line(1, "}")
	cw.line(0, "}")
}

func (cw *confWriter) user(u User, w Windows) {
	desc := string(u.Role)
	if len(u.Models) > 0 {
		desc += " of " + strings.Join(u.Models, ", ")
	}
	cw.line(3, "# %s: %s", u.Name, desc)
	cw.line(3, "{")
	if u.Nkey != "" {
		cw.line(4, "nkey: %s", quote(u.Nkey))
	} else {
		cw.line(4, "user: %s", quote(u.Name))
		cw.line(4, "password: $%s", u.PasswordEnv)
	}
	if p := PermissionsFor(u.Role, u.Name, u.Models, w); p != nil {
		cw.line(4, "permissions: {")
		if len(p.Publish) > 0 || p.Responses == nil {
			cw.line(5, "publish: { allow: %s }", quoteList(p.Publish))
		}
		cw.line(5, "subscribe: { allow: %s }", quoteList(p.Subscribe))
		if r := p.Responses; r != nil {
			if len(p.Publish) == 0 {
				cw.line(5, "# it publishes only answers to what it received")
			} else {
				cw.line(5, "# and answers to what it received")
			}
			cw.line(5, "allow_responses: { max: %d, expires: %s }", r.MaxMsgs, quote(r.Expires.String()))
		}
		cw.line(4, "}")
	}
	cw.line(3, "}")
}

// quote writes a string the way nats-server's parser reads it back:
// JSON-style double quotes, where '$' is not a variable.
func quote(s string) string { return strconv.Quote(s) }

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
