package jobs

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/taskrouter/taskrouter/adapters/httpapi/kv"
	"github.com/taskrouter/taskrouter/adapters/httpapi/webhook"
	"github.com/taskrouter/taskrouter/task"
)

// The classifier names what every non-public address is, and lets public
// ones through; the addresses are only classified, never connected to.
func TestNonPublicClassification(t *testing.T) {
	cases := []struct {
		addr string
		kind string // a prefix of the kind; "" for public
	}{
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"100.63.255.255", ""}, // just below 100.64/10
		{"100.128.0.0", ""},    // just above it
		{"172.32.0.1", ""},     // just above 172.16/12
		{"192.169.0.1", ""},
		{"2606:4700:4700::1111", ""},
		{"2001:4860:4860::8888", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},  // 6to4 of 8.8.8.8
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"64:ff9b::7f00:1", "loopback"}, // NAT64 of 127.0.0.1
		{"2002:7f00:1::", "loopback"},   // 6to4 of 127.0.0.1
		{"::127.0.0.1", "IPv4-compatible"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:10.0.0.1", "private"},
		{"fc00::1", "unique local"},
		{"fd00:ec2::254", "unique local"}, // AWS metadata over IPv6
		{"169.254.169.254", "link-local"}, // cloud metadata
		{"::ffff:169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"100.64.0.1", "shared"},
		{"100.100.100.200", "shared"}, // Alibaba Cloud metadata
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"198.18.0.1", "benchmarking"},
		{"192.0.2.1", "documentation"},
		{"2001:db8::1", "documentation"},
		{"2001::1", "reserved"}, // Teredo
		{"fec0::1", "site-local"},
		{"5f00::1", "reserved IPv6"},
	}
	for _, c := range cases {
		got := nonPublic(netip.MustParseAddr(c.addr))
		if c.kind == "" && got != "" || !strings.HasPrefix(got, c.kind) {
			t.Errorf("%s is %q, want %q", c.addr, got, c.kind)
		}
	}
	if got := nonPublic(netip.Addr{}); got == "" {
		t.Error("the zero address passes as public")
	}
}

func TestCheckURL(t *testing.T) {
	loopback := CallbackConfig{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	cases := []struct {
		cfg     CallbackConfig
		url     string
		refused bool   // ErrRefusedAddress
		mention string // in the message of an error; "" for none
	}{
		{CallbackConfig{}, "https://example.com/cb", false, ""},
		{CallbackConfig{}, "http://8.8.8.8:8080/cb", false, ""},
		{CallbackConfig{}, "http://[2606:4700:4700::1111]/cb", false, ""},
		// Names are judged when deliveries connect, by what they resolve to then.
		{CallbackConfig{}, "http://localhost:8080/cb", false, ""},
		{CallbackConfig{}, "http://127.0.0.1:8080/cb", true, "loopback"},
		{CallbackConfig{}, "http://[::ffff:127.0.0.1]/cb", true, "loopback"},
		{CallbackConfig{}, "http://169.254.169.254/latest/meta-data/", true, "link-local"},
		{CallbackConfig{}, "http://[fe80::1%25eth0]/cb", true, "link-local"},
		{CallbackConfig{}, "http://[fd00:ec2::254]/cb", true, "unique local"},
		{CallbackConfig{}, "http://100.64.0.1/cb", true, "shared"},
		{CallbackConfig{}, "http://10.0.0.1/cb", true, "private"},
		{CallbackConfig{}, "http://0.0.0.0:80/cb", true, "unspecified"},
		{CallbackConfig{}, "https://user:pass@example.com/cb", false, "credentials"},
		{CallbackConfig{}, "https://user@example.com/cb", false, "credentials"},
		{CallbackConfig{}, "http://2130706433/cb", false, "four decimal numbers"},
		{CallbackConfig{}, "http://127.1/cb", false, "four decimal numbers"},
		{CallbackConfig{}, "http://0x7f.0.0.1/cb", false, "four decimal numbers"},
		{CallbackConfig{}, "ftp://example.com/cb", false, "absolute http or https"},
		{CallbackConfig{}, "http://:8080/cb", false, "absolute http or https"},
		{loopback, "http://127.0.0.1:8080/cb", false, ""},
		{loopback, "http://[::ffff:127.0.0.1]:8080/cb", false, ""},
		{loopback, "http://[::1]:8080/cb", true, "loopback"},
		{loopback, "http://10.0.0.1/cb", true, "private"},
		{loopback, "http://user:pass@127.0.0.1/cb", false, "credentials"},
		{CallbackConfig{AllowPrivate: true}, "http://169.254.169.254/", false, ""},
		{CallbackConfig{AllowPrivate: true}, "http://[::1]:8080/cb", false, ""},
		{CallbackConfig{AllowPrivate: true}, "http://user:pass@10.0.0.1/cb", false, "credentials"},
	}
	for _, c := range cases {
		err := c.cfg.CheckURL(c.url)
		switch {
		case c.mention == "" && err != nil:
			t.Errorf("%s refused: %v", c.url, err)
		case c.mention == "":
		case !errors.Is(err, ErrBadCallbackURL) || errors.Is(err, ErrRefusedAddress) != c.refused:
			t.Errorf("%s: %v, want ErrBadCallbackURL and ErrRefusedAddress %t", c.url, err, c.refused)
		case !strings.Contains(err.Error(), c.mention):
			t.Errorf("%s: %q does not mention %q", c.url, err, c.mention)
		}
	}
}

// The dialer checks every address after resolution: what the URL named
// does not matter, where the connection would go does.
func TestControlChecksTheResolvedAddress(t *testing.T) {
	var cfg CallbackConfig
	for _, addr := range []string{"127.0.0.1:80", "[::ffff:127.0.0.1]:80", "[fe80::1%eth0]:80", "169.254.169.254:80", "not an address"} {
		if err := cfg.control(context.Background(), "tcp", addr, nil); !errors.Is(err, ErrRefusedAddress) {
			t.Errorf("connecting to %s: %v", addr, err)
		}
	}
	if err := cfg.control(context.Background(), "tcp", "8.8.8.8:443", nil); err != nil {
		t.Errorf("connecting to a public address: %v", err)
	}
	if tr := cfg.client().Transport.(*http.Transport); tr.Proxy != nil {
		t.Error("deliveries go through a proxy, which would hide where they connect")
	}
	recv := newReceiver(t)
	for _, u := range []string{recv.URL, strings.Replace(recv.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1)} {
		resp, err := cfg.client().Post(u, "application/json", strings.NewReader("{}"))
		var refused *AddressError
		if err == nil {
			resp.Body.Close()
		}
		if !errors.As(err, &refused) || refused.Kind != "loopback" {
			t.Errorf("posting to %s: %v", u, err)
		}
	}
	if statuses, _ := recv.got(); len(statuses) != 0 {
		t.Fatalf("the receiver was reached: %v", statuses)
	}
}

// deliver runs one job with a callback to url under cfg, and returns it
// once its delivery is settled.
func deliver(t *testing.T, cfg CallbackConfig, url string) Job {
	t.Helper()
	cfg.Secret = callbackSecret()
	cfg.InitialBackoff, cfg.MaxBackoff = 10*time.Millisecond, 10*time.Millisecond
	m, err := New(Config{Runner: newCountRunner("done", false), Planner: onePlan{}, Store: kv.NewMemory(time.Hour), Callbacks: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	sub, err := m.Submit(context.Background(), Spec{Request: task.Request{Input: "x"}, CallbackURL: url})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if j, err := m.Get(context.Background(), sub.ID, ""); err == nil && j.settled() {
			return j
		}
	}
	t.Fatalf("the callback of job %s never settled", sub.ID)
	return Job{}
}

// A callback to a name that resolves to loopback passes at creation (a
// name may resolve anywhere later) but is refused when its delivery
// connects: the job shows why, and it is not retried. With loopback
// allowed, the same delivery goes through.
func TestDeliveryToLoopbackRefused(t *testing.T) {
	recv := newReceiver(t)
	recv.ok.Store(true)
	u, _ := url.Parse(recv.URL)
	byName := "http://localhost:" + u.Port() + "/cb"
	j := deliver(t, CallbackConfig{}, byName)
	cb := j.Callback
	if j.Status != StatusDone || cb.State != DeliveryFailed || cb.Attempts != 1 || cb.LastStatus != 0 || !cb.NextAttemptAt.IsZero() {
		t.Fatalf("delivery = %+v", cb)
	}
	if !strings.Contains(cb.LastError, "loopback") || !strings.Contains(cb.LastError, "public addresses only") || strings.Contains(cb.LastError, "127.0.0.1") {
		t.Fatalf("last_error %q does not say why, or shows the address", cb.LastError)
	}
	if statuses, _ := recv.got(); len(statuses) != 0 {
		t.Fatalf("the receiver was reached: %v", statuses)
	}
	allowed := []CallbackConfig{
		{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}},
		{AllowPrivate: true},
	}
	for i, cfg := range allowed {
		for _, target := range []string{byName, recv.URL + "/cb"} {
			if cb := deliver(t, cfg, target).Callback; cb.State != DeliveryDelivered || cb.Attempts != 1 {
				t.Fatalf("allowed %d, %s: delivery = %+v", i, target, cb)
			}
		}
	}
	if statuses, _ := recv.got(); len(statuses) != 2*len(allowed) {
		t.Fatalf("the receiver saw %v", statuses)
	}
}

// A callback URL that is refused at creation stores nothing.
func TestSubmitRefusesNonPublicCallback(t *testing.T) {
	m, err := New(Config{Runner: newCountRunner("done", false), Store: kv.NewMemory(time.Hour), Callbacks: CallbackConfig{Secret: callbackSecret()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	_, err = m.Submit(context.Background(), Spec{Request: task.Request{Input: "x"}, CallbackURL: "http://169.254.169.254/latest/meta-data/"})
	var refused *AddressError
	if !errors.Is(err, ErrBadCallbackURL) || !errors.As(err, &refused) || refused.Kind != nonPublic(netip.MustParseAddr("169.254.169.254")) {
		t.Fatalf("Submit = %v", err)
	}
	if m.Pending() != 0 {
		t.Fatalf("%d jobs pending after a refusal", m.Pending())
	}
}

func callbackSecret() webhook.Secret {
	s, _ := webhook.ParseSecret("whsec_" + strings.Repeat("c2VjcmV0", 4))
	return s
}

// FuzzCheckURL: whatever a job's creator sends as callback_url, the check
// never panics, and a URL it accepts is an http(s) URL without
// credentials whose host, when an IP address, is public.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://example.com/hook", "http://127.0.0.1:8080/x", "http://[::ffff:169.254.169.254]/",
		"http://user:pw@example.com/", "http://2130706433/", "http://0x7f.1/", "https://[fe80::1%25eth0]/", "ftp://example.com/",
		"http://example.com./", "http://[64:ff9b::a00:1]/", "http://8.8.8.8/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if (CallbackConfig{}).CheckURL(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Hostname() == "" {
			t.Fatalf("accepted %q", raw)
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && nonPublic(ip) != "" {
			t.Fatalf("accepted %q, whose address is %s", raw, nonPublic(ip))
		}
	})
}
