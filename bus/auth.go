package bus

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"
)

// Auth is who may use the embedded server and how. The process's own
// connections always log in, with an nkey made for the run whose seed
// never leaves the process (or with Token); other clients need
// one of Users, or Token, unless anonymous clients are let in.
type Auth struct {
	// Users are the clients allowed in, each with its role's permissions.
	Users []User
	// Token, when set, is the one secret every client must present; it
	// gives full rights and excludes Users (NATS servers take one or the
	// other).
	Token string
	// AllowAnonymous lets clients without credentials in, with full
	// rights. Without it, a server listening on a non-loopback address
	// with neither Users nor Token refuses to start; on loopback it starts
	// open and warns.
	AllowAnonymous bool
	// Windows bound how long responders may answer what they received.
	Windows Windows
}

// anonymousUser is the name of the user anonymous clients become;
// configured names cannot start with '_'.
const anonymousUser = "_anonymous"

// ErrOpenListen is returned when the embedded server would accept anyone
// from other machines without nats.allow_anonymous.
var ErrOpenListen = errors.New("bus: the embedded server would accept anyone from other machines")

// CheckListen reports whether an embedded server listening on listen
// with these settings may start: one that accepts clients from other
// machines needs users, a token, or AllowAnonymous. It returns whether
// the server will be open to anonymous clients.
func (a Auth) CheckListen(listen string) (open bool, err error) {
	if listen == "" {
		return false, a.check()
	}
	if err := a.check(); err != nil {
		return false, err
	}
	if _, _, err := net.SplitHostPort(listen); err != nil || len(a.Users) > 0 || a.Token != "" {
		return false, nil // a malformed address is reported with the server's options
	}
	if !a.AllowAnonymous && !IsLoopback(listen) {
		return false, fmt.Errorf("%w: nats.listen %s takes clients from other machines, but no nats.users and no nats.token_env are set; list users with roles under nats.users, set nats.token_env, or set nats.allow_anonymous: true to let anyone in with full rights",
			ErrOpenListen, listen)
	}
	return true, nil
}

func (a Auth) check() error {
	if a.Token != "" && len(a.Users) > 0 {
		return errors.New("bus: a token and users exclude each other (NATS servers take one or the other); give every client a user")
	}
	if a.AllowAnonymous && (len(a.Users) > 0 || a.Token != "") {
		return errors.New("bus: allow_anonymous would let anyone do what the users' roles or the token forbid; drop one")
	}
	seen := map[string]bool{}
	for i, u := range a.Users {
		if err := u.Check(); err != nil {
			return fmt.Errorf("bus: users[%d] (%s): %w", i, u.Name, err)
		}
		if u.PasswordEnv != "" && u.Password == "" {
			return fmt.Errorf("bus: users[%d] (%s): the password in %s is empty or unset", i, u.Name, u.PasswordEnv)
		}
		if seen[u.Name] {
			return fmt.Errorf("bus: users[%d]: the name %s is used twice", i, u.Name)
		}
		seen[u.Name] = true
	}
	return nil
}

// IsLoopback reports whether a host:port is reachable from this machine
// only: localhost or a loopback address. An empty host listens everywhere.
func IsLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// applyAuth sets users, accounts and the internal login on the server's
// options, and returns the client options of the process's own
// connections. Users live in Account, with JetStream, and admins in the
// system account. A token gives no user and no account: NATS puts token
// clients in its global account, and defines no system account user.
func applyAuth(opts *server.Options, a Auth, open bool) ([]nats.Option, error) {
	if a.Token != "" {
		opts.Authorization = a.Token
		return []nats.Option{nats.Token(a.Token)}, nil
	}
	// Three accounts, never two: with only the global and the system
	// account, nats-server lets anonymous clients into the global one.
	acc, sys := server.NewAccount(Account), server.NewAccount(SystemAccount)
	opts.Accounts = []*server.Account{acc, sys}
	opts.SystemAccount = SystemAccount
	// The process's own login is an nkey made for this run: nothing to
	// leak, and no plaintext password for nats-server to warn about.
	own, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("creating the internal NATS login: %w", err)
	}
	ownKey, err := own.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("creating the internal NATS login: %w", err)
	}
	opts.Nkeys = []*server.NkeyUser{{Nkey: ownKey, Account: acc}}
	if open {
		// nats-server hands its no-auth user's password to the client as
		// given, so it cannot be a hash; no one logs in with it.
		opts.Users = append(opts.Users, &server.User{Username: anonymousUser, Password: "-", Account: acc})
		opts.NoAuthUser = anonymousUser
	}
	for _, u := range a.Users {
		perms := toServerPermissions(PermissionsFor(u.Role, u.Name, u.Models, a.Windows))
		acc := acc
		if u.Role == RoleAdmin {
			acc = sys
		}
		if u.Nkey != "" {
			opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: u.Nkey, Permissions: perms, Account: acc})
			continue
		}
		// The hash lives in the same process as the password it came
		// from (its variable), so a slow hash would protect nothing and
		// slow every login; it spares the server's plaintext warning.
		hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.MinCost)
		if err != nil {
			return nil, fmt.Errorf("bus: users[%s]: hashing the password: %w", u.Name, err)
		}
		opts.Users = append(opts.Users, &server.User{Username: u.Name, Password: string(hash), Permissions: perms, Account: acc})
	}
	return []nats.Option{nats.Nkey(ownKey, own.Sign)}, nil
}

// enableJetStream turns JetStream on in the users' account once the
// server runs (nats-server offers no option for it before).
func enableJetStream(ns *server.Server) error {
	acc, err := ns.LookupAccount(Account)
	if err != nil {
		return nil // token mode: the global account has JetStream already
	}
	if acc.JetStreamEnabled() {
		return nil
	}
	if err := acc.EnableJetStream(nil, nil); err != nil {
		return fmt.Errorf("enabling JetStream in account %s: %w", Account, err)
	}
	return nil
}

func toServerPermissions(p *Permissions) *server.Permissions {
	if p == nil {
		return nil
	}
	out := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: p.Publish},
		Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
	}
	if p.Responses != nil {
		out.Response = &server.ResponsePermission{MaxMsgs: p.Responses.MaxMsgs, Expires: p.Responses.Expires}
	}
	return out
}

func validUserNkey(key string) bool {
	return strings.HasPrefix(key, "U") && nkeys.IsValidPublicUserKey(key)
}
