// Package authtest is the suite every NATS server taskrouter runs on must
// pass once configured with its users: the embedded server, and a
// nats-server configured from `taskrouter nats-config`. It logs in as each
// role and checks what the role may and may not do.
package authtest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// The models the suite's executor users serve: built-in local models, so
// a test can also run executors of them.
const (
	ModelA = "local/calc"
	ModelB = "local/keywords"
	// ModelImageInfo and ModelImageOps, served by exec-a too, read and
	// make artifacts.
	ModelImageInfo = "local/imageinfo"
	ModelImageOps  = "local/imageops"
)

var (
	nkeyOnce sync.Once
	nkeyPair nkeys.KeyPair
	nkeyPub  string
)

// producerNkey is the nkey of the producer that logs in with one, made
// once per test binary.
func producerNkey() (nkeys.KeyPair, string) {
	nkeyOnce.Do(func() {
		var err error
		if nkeyPair, err = nkeys.CreateUser(); err != nil {
			panic(err)
		}
		if nkeyPub, err = nkeyPair.PublicKey(); err != nil {
			panic(err)
		}
	})
	return nkeyPair, nkeyPub
}

// Users are the users the server under test must be configured with.
// Passwords are both given and named by variable (see Env), so the same
// list configures the embedded server and a printed configuration.
func Users() []bus.User {
	_, pub := producerNkey()
	pw := func(name string) (string, string) {
		return "pw-" + name, "AUTHTEST_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	}
	user := func(name string, role bus.Role, models ...string) bus.User {
		p, env := pw(name)
		return bus.User{Name: name, Password: p, PasswordEnv: env, Role: role, Models: models}
	}
	return []bus.User{
		user("router-1", bus.RoleRouter),
		user("exec-a", bus.RoleExecutor, ModelA, ModelImageInfo, ModelImageOps),
		user("exec-b", bus.RoleExecutor, ModelB),
		user("prod-1", bus.RoleProducer),
		{Name: "prod-2", Nkey: pub, Role: bus.RoleProducer},
		user("obs", bus.RoleObserver),
		user("admin", bus.RoleAdmin),
	}
}

// Env lists NAME=value for every password variable of Users, for a
// nats-server process whose configuration reads them.
func Env() []string {
	var env []string
	for _, u := range Users() {
		if u.PasswordEnv != "" {
			env = append(env, u.PasswordEnv+"="+u.Password)
		}
	}
	return env
}

// Login returns the options that log in as the named user of Users, with
// the inbox prefix its role needs.
func Login(name string) []nats.Option {
	for _, u := range Users() {
		if u.Name != name {
			continue
		}
		var opts []nats.Option
		if u.Nkey != "" {
			kp, pub := producerNkey()
			opts = append(opts, nats.Nkey(pub, kp.Sign))
		} else {
			opts = append(opts, nats.UserInfo(u.Name, u.Password))
		}
		switch u.Role {
		case bus.RoleRouter:
			opts = append(opts, nats.CustomInboxPrefix(bus.RouterInboxPrefix))
		case bus.RoleProducer, bus.RoleObserver, bus.RoleExecutor:
			opts = append(opts, nats.CustomInboxPrefix(bus.InboxPrefix(u.Name)))
		}
		return opts
	}
	panic("authtest: no user " + name)
}

// Target is the server under test.
type Target struct {
	URL string
	// Options are added to every connection, e.g. TLS.
	Options []nats.Option
}

func (tg Target) connect(t *testing.T, opts ...nats.Option) (*nats.Conn, error) {
	t.Helper()
	all := append([]nats.Option{nats.MaxReconnects(0), nats.Timeout(5 * time.Second), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})},
		tg.Options...)
	nc, err := nats.Connect(tg.URL, append(all, opts...)...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// As connects as the named user of Users.
func (tg Target) As(t *testing.T, name string) *nats.Conn {
	t.Helper()
	nc, err := tg.connect(t, Login(name)...)
	if err != nil {
		t.Fatalf("logging in as %s: %v", name, err)
	}
	return nc
}

// Run runs the suite against tg.
func Run(t *testing.T, tg Target) {
	t.Run("anonymous and wrong password are refused", func(t *testing.T) { anonymous(t, tg) })
	t.Run("executor", func(t *testing.T) { executor(t, tg) })
	t.Run("executor answers only what it received", func(t *testing.T) { responses(t, tg) })
	t.Run("executor's artifacts", func(t *testing.T) { executorArtifacts(t, tg) })
	t.Run("router", func(t *testing.T) { router(t, tg) })
	t.Run("producer", func(t *testing.T) { producer(t, tg) })
	t.Run("producer's durable requests", func(t *testing.T) { durableProducer(t, tg) })
	t.Run("observer", func(t *testing.T) { observer(t, tg) })
	t.Run("admin", func(t *testing.T) { admin(t, tg) })
}

func anonymous(t *testing.T, tg Target) {
	if _, err := tg.connect(t); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("anonymous connection: %v, want an authorization violation", err)
	}
	if _, err := tg.connect(t, nats.UserInfo("prod-1", "wrong")); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("wrong password: %v, want an authorization violation", err)
	}
}

// Refused checks that do fails on a fresh connection of user with a
// permissions violation.
func (tg Target) Refused(t *testing.T, user, what string, do func(nc *nats.Conn) error) {
	t.Helper()
	nc := tg.As(t, user)
	if err := do(nc); err != nil {
		if errors.Is(err, nats.ErrPermissionViolation) {
			return
		}
		t.Errorf("%s %s: %v, want a permissions violation", user, what, err)
		return
	}
	if err := nc.Flush(); err != nil {
		t.Errorf("%s %s: flushing: %v", user, what, err)
	}
	if err := nc.LastError(); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("%s may %s (error %v), want a permissions violation", user, what, err)
	}
}

// Allowed checks that do succeeds on a fresh connection of user.
func (tg Target) Allowed(t *testing.T, user, what string, do func(nc *nats.Conn) error) {
	t.Helper()
	nc := tg.As(t, user)
	err := do(nc)
	if err == nil {
		err = nc.Flush()
	}
	if err == nil {
		err = nc.LastError()
	}
	if err != nil {
		t.Errorf("%s %s: %v", user, what, err)
	}
}

func sub(subject string) func(*nats.Conn) error {
	return func(nc *nats.Conn) error { _, err := nc.SubscribeSync(subject); return err }
}

func queueSub(subject, queue string) func(*nats.Conn) error {
	return func(nc *nats.Conn) error { _, err := nc.QueueSubscribeSync(subject, queue); return err }
}

func pub(subject string) func(*nats.Conn) error {
	return func(nc *nats.Conn) error {
		return nc.Publish(subject, []byte(`{"type":"result","output":{"text":"forged"}}`))
	}
}

func executor(t *testing.T, tg Target) {
	tg.Allowed(t, "exec-a", "serve its model in its queue group", queueSub(task.ModelSubject(ModelA), ModelA))
	tg.Allowed(t, "exec-a", "hear cancellations", sub(task.SubjectCancelAll))
	tg.Refused(t, "exec-a", "subscribe to another model", queueSub(task.ModelSubject(ModelB), ModelB))
	tg.Refused(t, "exec-a", "subscribe to every model", sub(task.SubjectModelPrefix+">"))
	tg.Refused(t, "exec-a", "read the jobs bucket", sub("$KV.taskrouter_jobs.>"))
	tg.Refused(t, "exec-a", "write the jobs bucket", pub("$KV.taskrouter_jobs.job_1"))
	tg.Refused(t, "exec-a", "use JetStream", pub("$JS.API.INFO"))
	tg.Refused(t, "exec-a", "publish to a router's inbox unasked", pub(bus.RouterInboxPrefix+".x.1"))
	tg.Refused(t, "exec-a", "send requests", pub(task.SubjectRequest))
	tg.Refused(t, "exec-a", "read events", sub(task.SubjectEventsPrefix+">"))
	tg.Refused(t, "prod-1", "serve a model in its queue group", queueSub(task.ModelSubject(ModelA), ModelA))
	tg.Allowed(t, "exec-a", "read its own inbox", sub(bus.InboxPrefix("exec-a")+".>"))
	tg.Refused(t, "exec-a", "read another executor's inbox", sub(bus.InboxPrefix("exec-b")+".>"))
	tg.Refused(t, "exec-a", "read a producer's inbox", sub(bus.InboxPrefix("prod-1")+".>"))
	tg.Refused(t, "exec-a", "read every inbox", sub("_INBOX.>"))
}

// responses: an executor answers a dispatch it received, many times, and
// cannot answer one it did not receive.
func responses(t *testing.T, tg Target) {
	router, exec := tg.As(t, "router-1"), tg.As(t, "exec-a")
	inbox := router.NewInbox()
	replies, err := router.SubscribeSync(inbox + ".*")
	if err != nil {
		t.Fatal(err)
	}
	work, err := exec.QueueSubscribeSync(task.ModelSubject(ModelA), ModelA)
	if err != nil {
		t.Fatal(err)
	}
	_ = exec.Flush()
	_ = router.Flush()
	if err := router.PublishRequest(task.ModelSubject(ModelA), inbox+".1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	msg, err := work.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("the executor got no dispatch: %v", err)
	}
	const n = 50 // accepted, progress..., result
	for range n {
		if err := msg.Respond([]byte(`{"type":"progress"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := exec.Publish(inbox+".2", []byte(`{"type":"result","output":{"text":"forged"}}`)); err != nil {
		t.Fatal(err)
	}
	_ = exec.Flush()
	if err := exec.LastError(); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("answering a dispatch it did not receive: %v, want a permissions violation", err)
	}
	for i := range n {
		m, err := replies.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("reply %d of %d: %v", i+1, n, err)
		}
		if m.Subject != inbox+".1" {
			t.Fatalf("the router got a reply on %s, which no dispatch went to", m.Subject)
		}
	}
	if m, err := replies.NextMsg(200 * time.Millisecond); err == nil {
		t.Errorf("the router got a forged reply on %s", m.Subject)
	}
}

func producer(t *testing.T, tg Target) {
	router, prod := tg.As(t, "router-1"), tg.As(t, "prod-1")
	if _, err := router.QueueSubscribe(task.SubjectRequest, "taskrouter", func(m *nats.Msg) { _ = m.Respond([]byte(`{"answer":"ok"}`)) }); err != nil {
		t.Fatal(err)
	}
	_ = router.Flush()
	if m, err := prod.Request(task.SubjectRequest, []byte(`{"input":"x"}`), 5*time.Second); err != nil || string(m.Data) != `{"answer":"ok"}` {
		t.Errorf("a producer's request: %v %v", m, err)
	}
	nk := tg.As(t, "prod-2") // logs in with an nkey
	if _, err := nk.Request(task.SubjectRequest, []byte(`{"input":"x"}`), 5*time.Second); err != nil {
		t.Errorf("an nkey producer's request: %v", err)
	}
	tg.Refused(t, "prod-1", "subscribe to the models", sub(task.SubjectModelPrefix+">"))
	tg.Refused(t, "prod-1", "read the jobs bucket", sub("$KV.taskrouter_jobs.>"))
	tg.Refused(t, "prod-1", "write the jobs bucket", pub("$KV.taskrouter_jobs.job_1"))
	tg.Refused(t, "prod-1", "use JetStream's API", pub("$JS.API.STREAM.LIST"))
	tg.Refused(t, "prod-1", "read another producer's inbox", sub(bus.InboxPrefix("prod-2")+".>"))
	tg.Refused(t, "prod-1", "read every request's events", sub(task.SubjectEventsPrefix+">"))
	tg.Refused(t, "prod-1", "read a router's inbox", sub(bus.RouterInboxPrefix+".>"))
	tg.Refused(t, "prod-1", "forge a result", pub(bus.RouterInboxPrefix+".x.1"))
	tg.Refused(t, "prod-1", "dispatch subtasks", pub(task.ModelSubject(ModelA)))
	tg.Refused(t, "prod-1", "cancel requests", pub(task.CancelSubject("req_1")))
}

// router: routers follow the jobs of other routers and ask them to cancel
// theirs (the jobs feed), besides dispatching.
func router(t *testing.T, tg Target) {
	tg.Allowed(t, "router-1", "follow a job's updates", sub(task.SubjectJobEventsPrefix+"job_1"))
	tg.Allowed(t, "router-1", "hear job cancellations", sub(task.SubjectJobCancelPrefix+"*"))
	tg.Allowed(t, "router-1", "ask for a job's cancellation", pub(task.SubjectJobCancelPrefix+"job_1"))
	tg.Allowed(t, "router-1", "publish a result", pub(task.ResultSubject("prod-1", "job_1")))
}

// durableProducer: a producer publishes durable requests under its own
// name only, and reads only its own results, live or by a direct get of
// their subject (never by sequence, which would reach anyone's).
func durableProducer(t *testing.T, tg Target) {
	tg.Allowed(t, "prod-1", "publish durable requests", pub(task.JobsSubject("prod-1")))
	tg.Allowed(t, "prod-1", "follow its results", sub(task.ResultSubject("prod-1", ">")))
	tg.Allowed(t, "prod-1", "get its result", pub("$JS.API.DIRECT.GET."+bus.ResultsStream+"."+task.ResultSubject("prod-1", "job_1")))
	tg.Allowed(t, "prod-2", "publish durable requests", pub(task.JobsSubject("prod-2")))
	tg.Refused(t, "prod-1", "publish as another producer", pub(task.JobsSubject("prod-2")))
	tg.Refused(t, "prod-1", "publish nameless durable requests", pub(task.SubjectJobs))
	tg.Refused(t, "prod-1", "follow another's results", sub(task.ResultSubject("prod-2", ">")))
	tg.Refused(t, "prod-1", "follow every result", sub(task.SubjectResultsPrefix+">"))
	tg.Refused(t, "prod-1", "get another's result", pub("$JS.API.DIRECT.GET."+bus.ResultsStream+"."+task.ResultSubject("prod-2", "job_1")))
	tg.Refused(t, "prod-1", "get a result by sequence", pub("$JS.API.DIRECT.GET."+bus.ResultsStream))
	tg.Refused(t, "prod-1", "read the durable requests", pub("$JS.API.CONSUMER.MSG.NEXT."+bus.JobsStream+"."+bus.JobsConsumer))
	tg.Refused(t, "prod-1", "publish results", pub(task.ResultSubject("prod-1", "job_1")))
	tg.Refused(t, "exec-a", "publish durable requests", pub(task.JobsSubject("exec-a")))
	tg.Refused(t, "obs", "follow results", sub(task.SubjectResultsPrefix+">"))
}

func observer(t *testing.T, tg Target) {
	tg.Allowed(t, "obs", "read events", sub(task.SubjectEventsPrefix+">"))
	tg.Allowed(t, "obs", "send discovery requests", pub("$SRV.PING"))
	tg.Refused(t, "obs", "send requests", pub(task.SubjectRequest))
	tg.Refused(t, "obs", "subscribe to the models", sub(task.SubjectModelPrefix+">"))
	tg.Refused(t, "obs", "read the jobs bucket", sub("$KV.taskrouter_jobs.>"))
}

func admin(t *testing.T, tg Target) {
	nc := tg.As(t, "admin")
	m, err := nc.Request("$SYS.REQ.SERVER.PING", nil, 5*time.Second)
	if err != nil || !strings.Contains(string(m.Data), `"server"`) {
		t.Errorf("admin's server ping: %v %v", m, err)
	}
}
