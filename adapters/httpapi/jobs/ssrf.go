package jobs

// Whoever may create a job chooses its callback URL, so without a check
// the router could be made to POST to its own loopback services, the
// private network or a cloud metadata endpoint (server-side request
// forgery). Callbacks therefore reach public addresses only, unless the
// operator allows more. The address is checked as each connection is
// made, after name resolution, so that a name resolving to a public
// address when the job is created and to a private one later (DNS
// rebinding) gains nothing; literal addresses are refused at creation
// already.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrRefusedAddress: a callback would connect to an address that is not
// public (loopback, private, link-local, ...) and that the configuration
// does not allow. A delivery refused so fails at once, without retries.
var ErrRefusedAddress = errors.New("jobs: the callback address is not public")

// AddressError is an ErrRefusedAddress with its detail.
type AddressError struct {
	Addr netip.Addr
	// Kind says what the address is, such as "loopback" or "link-local".
	Kind string
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("jobs: %s is a %s address; callbacks go to public addresses only", e.Addr, e.Kind)
}

// Unwrap makes an AddressError match ErrRefusedAddress.
func (e *AddressError) Unwrap() error { return ErrRefusedAddress }

// CallbackURLError is an ErrBadCallbackURL that says what to fix; its
// message is meant for the job's creator. Err is the *AddressError when
// the URL's address is what is refused.
type CallbackURLError struct {
	Msg string
	Err error
}

func (e *CallbackURLError) Error() string { return e.Msg }

// Is makes a CallbackURLError match ErrBadCallbackURL.
func (e *CallbackURLError) Is(target error) bool { return target == ErrBadCallbackURL }

// Unwrap returns the *AddressError, if any.
func (e *CallbackURLError) Unwrap() error { return e.Err }

// addrRange is a range of addresses that are not public.
type addrRange struct {
	prefix netip.Prefix
	kind   string
}

func special(cidr, kind string) addrRange { return addrRange{netip.MustParsePrefix(cidr), kind} }

// nonPublicRanges are IANA's special-purpose ranges that are not globally
// reachable (RFC 6890 and its successors). The first match names the kind,
// so the narrower ranges come first.
var nonPublicRanges = []addrRange{
	special("0.0.0.0/8", "unspecified (this network)"),
	special("10.0.0.0/8", "private (RFC 1918)"),
	special("100.64.0.0/10", "shared (carrier-grade NAT, RFC 6598)"),
	special("127.0.0.0/8", "loopback"),
	special("169.254.0.0/16", "link-local (cloud metadata lives here)"),
	special("172.16.0.0/12", "private (RFC 1918)"),
	special("192.0.0.0/24", "reserved (IETF protocol assignments)"),
	special("192.0.2.0/24", "documentation"),
	special("192.168.0.0/16", "private (RFC 1918)"),
	special("198.18.0.0/15", "benchmarking"),
	special("198.51.100.0/24", "documentation"),
	special("203.0.113.0/24", "documentation"),
	special("224.0.0.0/4", "multicast"),
	special("255.255.255.255/32", "broadcast"),
	special("240.0.0.0/4", "reserved"),
	special("::/128", "unspecified"),
	special("::1/128", "loopback"),
	special("::/96", "IPv4-compatible (deprecated)"),
	special("64:ff9b:1::/48", "local-use NAT64"),
	special("100::/64", "discard-only"),
	special("2001::/23", "reserved (IETF protocol assignments)"),
	special("2001:db8::/32", "documentation"),
	special("3fff::/20", "documentation"),
	special("fc00::/7", "unique local (private)"),
	special("fe80::/10", "link-local"),
	special("fec0::/10", "site-local (deprecated)"),
	special("ff00::/8", "multicast"),
}

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// nonPublic says what kind of address ip is when it is not public, and
// returns "" for a public one. An IPv4-mapped IPv6 address is judged as
// its IPv4 address, which is where a connection to it goes; so are the
// IPv4 addresses that NAT64 and 6to4 addresses carry.
func nonPublic(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid"
	}
	ip = ip.WithZone("").Unmap()
	if v4, ok := embeddedIPv4(ip); ok {
		return nonPublic(v4)
	}
	for _, s := range nonPublicRanges {
		if s.prefix.Contains(ip) {
			return s.kind
		}
	}
	if ip.Is6() && !globalUnicast6.Contains(ip) {
		return "reserved IPv6 (outside global unicast 2000::/3)"
	}
	return ""
}

// embeddedIPv4 returns the IPv4 address a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address leads to.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// checkAddr returns an *AddressError unless callbacks may connect to ip.
func (c CallbackConfig) checkAddr(ip netip.Addr) error {
	ip = ip.WithZone("").Unmap()
	kind := nonPublic(ip)
	if kind == "" || c.AllowPrivate {
		return nil
	}
	for _, p := range c.AllowCIDRs {
		if p.Contains(ip) {
			return nil
		}
	}
	return &AddressError{Addr: ip, Kind: kind}
}

// CheckURL refuses a callback URL that is not an absolute http(s) URL,
// that carries credentials (user:password@), or whose host is an IP
// address callbacks may not reach; host names are judged when deliveries
// connect, by what they resolve to then. Its errors match
// ErrBadCallbackURL, and ErrRefusedAddress for a refused address.
func (c CallbackConfig) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return ErrBadCallbackURL
	}
	if u.User != nil {
		return &CallbackURLError{Msg: "callback_url must not carry credentials (user:password@); remove them: receivers authenticate deliveries by their webhook-signature header."}
	}
	host := u.Hostname()
	ip, err := netip.ParseAddr(host)
	if err != nil {
		if numericHost(host) {
			return &CallbackURLError{Msg: fmt.Sprintf("callback_url host %q is neither a host name nor an IP address written in full; write IPv4 addresses as four decimal numbers (a.b.c.d).", host)}
		}
		return nil
	}
	if err := c.checkAddr(ip); err != nil {
		var refused *AddressError
		errors.As(err, &refused)
		return &CallbackURLError{Err: err, Msg: fmt.Sprintf("callback_url points at %s, a %s address; this router delivers callbacks to public addresses only. Use a public host name or address.", host, refused.Kind)}
	}
	return nil
}

// numericHost reports whether a host that is not an IP address ends in a
// number, such as 127.1, 2130706433 or 0x7f.1: URL parsers and resolvers
// may read those as IPv4 addresses in shorthand, and no real host name
// ends so (the WHATWG URL standard's rule).
func numericHost(host string) bool {
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	last := strings.ToLower(labels[len(labels)-1])
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		last = strings.Trim(hex, "0123456789abcdef")
		return last == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// client is the default client of deliveries: it follows no redirects,
// as the Standard Webhooks spec asks, uses no proxy (a proxy would hide
// the address it connects to), and refuses to connect to addresses
// callbacks may not reach.
func (c CallbackConfig) client() *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !c.AllowPrivate {
		dialer.ControlContext = c.control
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy, t.DialContext = nil, dialer.DialContext
	return &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// PublicClient is an HTTP client under the same rules as deliveries: public
// addresses only (unless allowed), checked as each connection is made,
// no proxy, no redirects followed. The HTTP ingress fetches the image
// URLs of content parts with it.
func (c CallbackConfig) PublicClient() *http.Client { return c.client() }

// control checks each address a delivery connects to, after resolution.
func (c CallbackConfig) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read the address %q", ErrRefusedAddress, address)
	}
	return c.checkAddr(ap.Addr())
}
