package bus

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/taskrouter/taskrouter/task"
)

// Role is what a NATS user may do on the bus. Each role gets exactly the
// subjects its processes use; Permissions lists them.
type Role string

// The roles of taskrouter's NATS users.
const (
	// RoleRouter is a router process (serve): it dispatches, answers
	// producers, keeps jobs in JetStream, and may serve models itself.
	RoleRouter Role = "router"
	// RoleExecutor serves its models: it receives their subtasks and
	// answers only the dispatches it received. It reads the artifacts its
	// subtasks name and stores those its models make, in the artifact
	// bucket alone, under its own inbox prefix.
	RoleExecutor Role = "executor"
	// RoleProducer sends requests and reads only its own answers and
	// events, under its own inbox prefix; it publishes durable requests on
	// tr.v1.jobs.<its name> and reads their results under
	// tr.v1.results.<its name>, live or with a direct get. It has no
	// rights on the artifact store: its files travel inline in its
	// requests, and it reads what they produced over the HTTP files API.
	RoleProducer Role = "producer"
	// RoleObserver reads progress events and asks services to describe
	// themselves ($SRV).
	RoleObserver Role = "observer"
	// RoleAdmin is a user of the system account: server lists, JetStream
	// reports; it sees none of taskrouter's subjects.
	RoleAdmin Role = "admin"
)

// Roles lists every role, in the order the docs present them.
var Roles = []Role{RoleRouter, RoleExecutor, RoleProducer, RoleObserver, RoleAdmin}

// RouterInboxPrefix is the inbox prefix of every router connection: only
// the router role may subscribe to it or publish on it, so no other
// client can read a dispatch's replies or forge one.
const RouterInboxPrefix = task.RouterInboxPrefix

// InboxPrefix is the inbox prefix a producer, observer or executor named
// user must use (nats.go CustomInboxPrefix, natscli --inbox-prefix, the nats npm
// client's inboxPrefix): its permissions let it receive only there.
func InboxPrefix(user string) string { return "_INBOX." + user }

// ResultGetSubject is what a producer named user may publish to read its
// durable requests' results: JetStream's direct get of the last message
// on one subject of the results stream, named in the request's subject
// (a body asking for another message is refused by the server), so a
// producer reads its own results and no one else's.
func ResultGetSubject(user string) string {
	return "$JS.API.DIRECT.GET." + ResultsStream + "." + task.ResultSubject(user, ">")
}

// ArtifactsBucket is the object store bucket of artifacts
// (artifacts.DefaultBucket), and ArtifactsStream the stream that holds it.
const (
	ArtifactsBucket = "taskrouter_artifacts"
	ArtifactsStream = "OBJ_" + ArtifactsBucket
)

// artifactReads are the subjects that read an artifact by its id and
// nothing else, as nats.go's object store does: the bucket's stream info;
// the last info message of one object's name, by a direct get whose
// subject names it (a body asking for another message is refused); an
// ordered consumer whose filter, named in the subject, is one object's
// chunks (the server refuses a body with another filter), and deleting
// it. Listing the bucket would need a consumer on its info subjects,
// which no filter here allows. (A filter may still be a wildcard over
// every object's chunks: whoever reads artifacts may read the bytes of
// all of them, without their names, so producers get none of these.) The
// last two are the flow control of the
// chunks' delivery, in the servers' older and newer forms
// ($JS.FC.<stream>.<consumer>.<n>, and with domain and account first).
func artifactReads() []string {
	const api = "$JS.API."
	return []string{
		api + "STREAM.INFO." + ArtifactsStream,
		api + "DIRECT.GET." + ArtifactsStream + ".$O." + ArtifactsBucket + ".M.*",
		api + "CONSUMER.CREATE." + ArtifactsStream + ".*.$O." + ArtifactsBucket + ".C.*",
		api + "CONSUMER.DELETE." + ArtifactsStream + ".*",
		"$JS.FC." + ArtifactsStream + ".*.*",
		"$JS.FC.*.*." + ArtifactsStream + ".*.*",
	}
}

// artifactWrites are the subjects that store an artifact: its chunks and
// its info, in the artifact bucket only. Purging and deleting, which
// reach the whole stream, stay with routers.
func artifactWrites() []string {
	return []string{"$O." + ArtifactsBucket + ".C.*", "$O." + ArtifactsBucket + ".M.*"}
}

// Account is the NATS account of taskrouter's users and streams.
const Account = "TASKROUTER"

// SystemAccount is the name of the embedded server's system account, the
// account of admin users.
const SystemAccount = "SYS"

// maxRepliesPerMessage bounds the replies a responder may send to one
// received message: a subtask streams a progress message per token and a
// keep-alive every 500 ms, so the bound is far above any real stream.
const maxRepliesPerMessage = 1_000_000

// Permissions are the subjects a user may publish to and subscribe to.
// Responses, when set, also lets it answer every message it received,
// on the message's reply subject, up to MaxMsgs times within Expires.
type Permissions struct {
	Publish   []string
	Subscribe []string
	Responses *Responses
}

// Responses is NATS's allow_responses: replies to received messages.
type Responses struct {
	MaxMsgs int
	Expires time.Duration
}

// Windows are how long responders may answer what they received: a
// dispatch may wait in an executor's queue and then run until the
// subtask's deadline; a request runs until the request timeout.
type Windows struct {
	// Dispatch is how long after receiving a subtask an executor may
	// still answer it (default 2m30s: the default subtask timeout plus
	// 30 s of queueing).
	Dispatch time.Duration
	// Request is how long after receiving a request a router may still
	// answer it (default 5m30s).
	Request time.Duration
}

func (w Windows) withDefaults() Windows {
	if w.Dispatch <= 0 {
		w.Dispatch = 2*time.Minute + 30*time.Second
	}
	if w.Request <= 0 {
		w.Request = 5*time.Minute + 30*time.Second
	}
	return w
}

// PermissionsFor returns a role's permissions. models are an executor's
// models; user names the inbox of an executor, producer or observer. Admin users have
// no restrictions inside the system account, so their Permissions are nil.
func PermissionsFor(role Role, user string, models []string, w Windows) *Permissions {
	w = w.withDefaults()
	switch role {
	case RoleRouter:
		return &Permissions{
			Publish: []string{"tr.v1.>", RouterInboxPrefix + ".>", "_INBOX.>", "$JS.>", "$KV.>", "$O.>"},
			Subscribe: []string{task.SubjectRequest, task.SubjectModelPrefix + ">", task.SubjectCancelAll,
				task.SubjectJobEventsPrefix + "*", task.SubjectJobCancelPrefix + "*", RouterInboxPrefix + ".>", "$SRV.>"},
			Responses: &Responses{MaxMsgs: maxRepliesPerMessage, Expires: w.Request},
		}
	case RoleExecutor:
		sub := make([]string, 0, len(models)+2)
		for _, m := range models {
			sub = append(sub, task.ModelSubject(m))
		}
		return &Permissions{
			// Besides replies: the artifacts of its subtasks.
			Publish:   append(artifactReads(), artifactWrites()...),
			Subscribe: append(sub, task.SubjectCancelAll, "$SRV.>", InboxPrefix(user)+".>"),
			Responses: &Responses{MaxMsgs: maxRepliesPerMessage, Expires: w.Dispatch},
		}
	case RoleProducer:
		return &Permissions{
			Publish:   []string{task.SubjectRequest, task.JobsSubject(user), ResultGetSubject(user)},
			Subscribe: []string{InboxPrefix(user) + ".>", task.ResultSubject(user, ">")},
		}
	case RoleObserver:
		return &Permissions{
			Publish:   []string{"$SRV.>"},
			Subscribe: []string{task.SubjectEventsPrefix + ">", InboxPrefix(user) + ".>"},
		}
	}
	return nil
}

// User is one NATS user of the embedded server, or of the configuration
// that nats-config prints. It logs in with a password or an nkey.
type User struct {
	Name string
	// Password is the password itself, for the embedded server;
	// PasswordEnv names the environment variable that holds it, for a
	// printed server configuration.
	Password    string
	PasswordEnv string
	// Nkey is the user's public nkey (U...), instead of a password.
	Nkey   string
	Role   Role
	Models []string
}

var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Check reports what is wrong with a user, in a config author's words.
func (u User) Check() error {
	if !userName.MatchString(u.Name) {
		return fmt.Errorf("name %q must be 1-64 letters, digits, '-' or '_', starting with a letter or digit (it becomes the inbox prefix %s)", u.Name, InboxPrefix("NAME"))
	}
	if !slices.Contains(Roles, u.Role) {
		return fmt.Errorf("role %q is not one of router, executor, producer, observer, admin", u.Role)
	}
	if (u.Password != "" || u.PasswordEnv != "") == (u.Nkey != "") {
		return fmt.Errorf("give either password_env or nkey")
	}
	if u.Nkey != "" && !validUserNkey(u.Nkey) {
		return fmt.Errorf("nkey %q is not a user's public nkey (56 characters starting with U, as 'nk -gen user -pubout' prints)", u.Nkey)
	}
	switch {
	case u.Role == RoleExecutor && len(u.Models) == 0:
		return fmt.Errorf("an executor needs models: the models it may serve")
	case u.Role != RoleExecutor && len(u.Models) > 0:
		return fmt.Errorf("models apply to executors only (a %s may not serve models)", u.Role)
	}
	for _, m := range u.Models {
		if err := task.CheckModelName(m); err != nil {
			return fmt.Errorf("models: %s", task.AsError(err).Message)
		}
	}
	return nil
}
