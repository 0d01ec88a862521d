package ollama

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// DefaultHost is where Ollama listens unless OLLAMA_HOST says otherwise.
const DefaultHost = "127.0.0.1:11434"

// ParseHost turns a value of OLLAMA_HOST into the base URL of the server,
// as Ollama's own client reads it: host:port, a host alone (port 11434),
// http://host:port or https://host:port (ports 80 and 443 when left out),
// quotes and spaces around it ignored, and "" for the default. An
// unspecified address (0.0.0.0, ::), which tells a server to listen
// everywhere, is reached on loopback. The caller reads the variable:
// libraries never read the environment.
func ParseHost(v string) (string, error) {
	v = strings.TrimSpace(strings.Trim(strings.TrimSpace(v), `"'`))
	scheme, hostport, ok := strings.Cut(v, "://")
	port := "11434"
	switch {
	case !ok:
		scheme, hostport = "http", v
	case scheme == "http":
		port = "80"
	case scheme == "https":
		port = "443"
	default:
		return "", fmt.Errorf("OLLAMA_HOST %q: scheme %q must be http or https", v, scheme)
	}
	hostport, path, _ := strings.Cut(hostport, "/")
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	} else {
		port = p
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("OLLAMA_HOST %q: port %q is not a number from 1 to 65535", v, port)
	}
	host, err = reachableHost(host)
	if err != nil {
		return "", fmt.Errorf("OLLAMA_HOST %q: %w", v, err)
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}
	if path = strings.Trim(path, "/"); path != "" {
		u.Path = "/" + path
	}
	return u.String(), nil
}

// reachableHost is the host to dial: loopback for an unspecified address
// or none, the host itself otherwise.
func reachableHost(host string) (string, error) {
	if host == "" {
		return "127.0.0.1", nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		switch {
		case ip.IsUnspecified() && ip.Is4():
			return "127.0.0.1", nil
		case ip.IsUnspecified():
			return "::1", nil
		}
		return ip.String(), nil
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return "", fmt.Errorf("host %q is not a host name or address", host)
		}
	}
	return host, nil
}
