package bus_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/taskrouter/taskrouter/bus"
)

// An executor may use the artifact bucket's subjects and its own inbox,
// nothing else of JetStream; a producer and an observer none of the
// bucket's; and the printed server configuration says the same.
func TestArtifactPermissions(t *testing.T) {
	exec := bus.PermissionsFor(bus.RoleExecutor, "exec-a", []string{"local/imageinfo"}, bus.Windows{})
	for _, s := range exec.Publish {
		if !strings.Contains(s, bus.ArtifactsStream) && !strings.HasPrefix(s, "$O."+bus.ArtifactsBucket+".") {
			t.Errorf("an executor may publish %s, outside the artifact bucket", s)
		}
	}
	if !slices.Contains(exec.Subscribe, bus.InboxPrefix("exec-a")+".>") || slices.Contains(exec.Subscribe, "_INBOX.>") {
		t.Errorf("an executor's subscriptions %v: want its own inbox only", exec.Subscribe)
	}
	for _, role := range []bus.Role{bus.RoleProducer, bus.RoleObserver} {
		p := bus.PermissionsFor(role, "u", nil, bus.Windows{})
		for _, s := range append(p.Publish, p.Subscribe...) {
			if strings.Contains(s, bus.ArtifactsStream) || strings.Contains(s, bus.ArtifactsBucket) {
				t.Errorf("a %s may use %s", role, s)
			}
		}
	}
	var conf bytes.Buffer
	err := bus.WriteServerFile(&conf, bus.ServerFile{Auth: bus.Auth{Users: []bus.User{
		{Name: "exec-a", PasswordEnv: "PW", Role: bus.RoleExecutor, Models: []string{"local/imageinfo"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"_INBOX.exec-a.>"`, `"$O.taskrouter_artifacts.C.*"`, `"$JS.API.STREAM.INFO.OBJ_taskrouter_artifacts"`, "allow_responses"} {
		if !strings.Contains(conf.String(), want) {
			t.Errorf("the printed configuration lacks %s:\n%s", want, conf.String())
		}
	}
}
