package main

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/taskrouter/taskrouter/bus"
)

// NATSConfig says where NATS is, how this process logs in to it, and who
// may use the embedded server.
type NATSConfig struct {
	URL      string `yaml:"url"`
	Listen   string `yaml:"listen"`
	StoreDir string `yaml:"store_dir"`
	// User and PasswordEnv (the variable holding the password),
	// TokenEnv, NkeySeedFile or CredsFile are this process's login to
	// nats.url: one of them. TokenEnv also protects the embedded server.
	User         string `yaml:"user"`
	PasswordEnv  string `yaml:"password_env"`
	TokenEnv     string `yaml:"token_env"`
	NkeySeedFile string `yaml:"nkey_seed_file"`
	CredsFile    string `yaml:"creds_file"`
	// InboxPrefix is where a producer (ask --nats) receives answers and
	// events; default _INBOX.<user> with nats.user, else _INBOX.
	InboxPrefix string    `yaml:"inbox_prefix"`
	TLS         TLSConfig `yaml:"tls"`
	// Users may use the embedded server (and are what nats-config prints).
	Users []NATSUser `yaml:"users"`
	// AllowAnonymous lets clients without credentials into the embedded
	// server with full rights, even beyond loopback.
	AllowAnonymous bool `yaml:"allow_anonymous"`
	// MonitorAddr serves the embedded server's monitoring endpoints.
	MonitorAddr string `yaml:"monitor_addr"`
	// Replicas is how many servers of a NATS cluster keep each of
	// taskrouter's streams and buckets (jobs, webhook ids, durable
	// requests and results, artifacts).
	Replicas int           `yaml:"replicas"`
	Durable  DurableConfig `yaml:"durable"`
}

// NATSUser is one user of the embedded server: a name, a role, a password
// (by variable) or a public nkey, and an executor's models.
type NATSUser struct {
	Name        string   `yaml:"name"`
	PasswordEnv string   `yaml:"password_env"`
	Nkey        string   `yaml:"nkey"`
	Role        string   `yaml:"role"`
	Models      []string `yaml:"models"`
}

// TLSConfig holds TLS files. For a client (nats.url, rediss://) ca_file
// holds the CAs that sign the server's certificate, and cert_file and
// key_file its own certificate when the server asks for one; for the
// embedded server cert_file and key_file are what it serves on
// nats.listen and ca_file the CAs of the client certificates it requires.
type TLSConfig struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Verify checks the other side's certificate (default true).
	Verify bool `yaml:"verify"`
}

func (t TLSConfig) files() bus.TLSFiles {
	return bus.TLSFiles{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, Insecure: !t.Verify}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (n *NATSConfig) validate(bad func(string, ...any)) {
	if n.URL != "" {
		for _, u := range strings.Split(n.URL, ",") {
			if p, err := url.Parse(strings.TrimSpace(u)); err != nil || p.Host == "" {
				bad("nats.url: %q is not a URL such as nats://127.0.0.1:4222", u)
			}
		}
	}
	n.validateLogin(bad)
	n.validateUsers(bad)
	n.validateJetStream(bad)
	if n.InboxPrefix != "" && (strings.ContainsAny(n.InboxPrefix, "*> \t") || strings.HasSuffix(n.InboxPrefix, ".") || strings.HasPrefix(n.InboxPrefix, ".")) {
		bad("nats.inbox_prefix: %q must be subject tokens without wildcards, such as _INBOX.billing-app", n.InboxPrefix)
	}
	if n.TLS.CertFile != "" && n.TLS.KeyFile == "" || n.TLS.CertFile == "" && n.TLS.KeyFile != "" {
		bad("nats.tls: cert_file and key_file go together")
	}
	if n.URL != "" {
		n.validateClientOnly(bad)
		return
	}
	n.validateEmbedded(bad)
}

// validateLogin: at most one way to log in, each complete.
func (n *NATSConfig) validateLogin(bad func(string, ...any)) {
	var ways []string
	for key, set := range map[string]bool{"user": n.User != "" || n.PasswordEnv != "", "token_env": n.TokenEnv != "",
		"nkey_seed_file": n.NkeySeedFile != "", "creds_file": n.CredsFile != ""} {
		if set {
			ways = append(ways, "nats."+key)
		}
	}
	if len(ways) > 1 {
		slices.Sort(ways)
		bad("nats: %s are different logins; keep one", strings.Join(ways, " and "))
	}
	if (n.User == "") != (n.PasswordEnv == "") {
		bad("nats.user and nats.password_env go together: the user, and the variable holding its password")
	}
	for key, v := range map[string]string{"password_env": n.PasswordEnv, "token_env": n.TokenEnv} {
		if v != "" && !envName.MatchString(v) {
			bad("nats.%s: %q is not an environment variable name such as NATS_PASSWORD", key, v)
		}
	}
}

func (n *NATSConfig) validateUsers(bad func(string, ...any)) {
	seen := map[string]bool{}
	for i, u := range n.Users {
		where := fmt.Sprintf("nats.users[%d] (%s)", i, u.Name)
		if err := u.busUser("set").Check(); err != nil {
			bad("%s: %v", where, err)
		}
		if u.PasswordEnv != "" && !envName.MatchString(u.PasswordEnv) {
			bad("%s: password_env %q is not an environment variable name such as GPU_BOX_1_NATS_PASSWORD", where, u.PasswordEnv)
		}
		if seen[u.Name] {
			bad("%s: the name is used twice", where)
		}
		seen[u.Name] = true
	}
	if n.TokenEnv != "" && len(n.Users) > 0 {
		bad("nats.token_env and nats.users exclude each other (NATS servers take one or the other); give every client a user")
	}
}

// validateClientOnly: with nats.url, the embedded server's keys mean nothing.
func (n *NATSConfig) validateClientOnly(bad func(string, ...any)) {
	if n.Listen != "" {
		bad("nats.listen: only the embedded server listens; leave nats.url empty or drop nats.listen")
	}
	if n.AllowAnonymous || n.MonitorAddr != "" {
		bad("nats.allow_anonymous and nats.monitor_addr configure the embedded server; with nats.url, configure that server instead (taskrouter nats-config prints a configuration)")
	}
}

func (n *NATSConfig) validateEmbedded(bad func(string, ...any)) {
	if n.User != "" || n.NkeySeedFile != "" || n.CredsFile != "" {
		bad("nats.user, nats.nkey_seed_file and nats.creds_file are this process's login to nats.url; the embedded server's own connections log in by themselves: drop them or set nats.url")
	}
	if n.Listen == "" {
		if n.TLS.CertFile != "" || n.TLS.CAFile != "" {
			bad("nats.tls: the embedded server serves TLS on nats.listen; set nats.listen or drop nats.tls")
		}
		return
	}
	if _, _, err := net.SplitHostPort(n.Listen); err != nil {
		bad("nats.listen: %q is not host:port such as 127.0.0.1:4222", n.Listen)
		return
	}
	if n.TLS.CAFile != "" && n.TLS.CertFile == "" {
		bad("nats.tls.ca_file: the embedded server checks client certificates only when it serves TLS; set cert_file and key_file")
	}
	if n.AllowAnonymous && (len(n.Users) > 0 || n.TokenEnv != "") {
		bad("nats.allow_anonymous would let anyone do what nats.users' roles or nats.token_env forbid; drop one")
	}
	if !n.AllowAnonymous && len(n.Users) == 0 && n.TokenEnv == "" && !bus.IsLoopback(n.Listen) {
		bad("nats.listen %s takes clients from other machines, but no nats.users and no nats.token_env are set: list users with roles under nats.users, set nats.token_env, or set nats.allow_anonymous: true to let anyone in with full rights", n.Listen)
	}
	if n.MonitorAddr != "" {
		if _, _, err := net.SplitHostPort(n.MonitorAddr); err != nil {
			bad("nats.monitor_addr: %q is not host:port such as 127.0.0.1:8222", n.MonitorAddr)
		}
	}
}

// busUser is the user as the bus takes it, with its password.
func (u NATSUser) busUser(password string) bus.User {
	out := bus.User{Name: u.Name, PasswordEnv: u.PasswordEnv, Nkey: u.Nkey, Role: bus.Role(u.Role), Models: u.Models}
	if u.PasswordEnv != "" {
		out.Password = password
	}
	return out
}
