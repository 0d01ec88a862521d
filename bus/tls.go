package bus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TLSFiles are TLS settings by file, as in nats-server's tls block. For a
// client, CAFile holds the CAs that sign the server's certificate (the
// system's roots without it) and CertFile/KeyFile are its own certificate,
// if the server asks for one. For the embedded server, CertFile/KeyFile
// are what it serves on its listen address and CAFile, when set, the CAs
// that must sign every client's certificate.
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
	// Insecure skips verifying the other side's certificate (a client
	// then trusts any server; the embedded server asks for no client
	// certificate). Keep it false outside tests.
	Insecure bool
}

// Enabled reports whether any TLS setting is given.
func (t TLSFiles) Enabled() bool {
	return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.Insecure
}

// ClientOptions returns the nats.go options of a client using these
// settings, with the files read now so a bad one is reported at once.
func (t TLSFiles) ClientOptions() ([]nats.Option, error) {
	if !t.Enabled() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.Insecure}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading nats.tls.ca_file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading nats.tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("nats.tls: cert_file and key_file go together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading nats.tls.cert_file and key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return []nats.Option{nats.Secure(cfg)}, nil
}

// apply makes the embedded server serve TLS on its listen address.
func (t TLSFiles) apply(opts *server.Options) error {
	if t.CertFile == "" && t.KeyFile == "" {
		if t.CAFile != "" {
			return errors.New("bus: nats.tls.ca_file needs cert_file and key_file for the embedded server to serve TLS")
		}
		return nil
	}
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: t.CertFile, KeyFile: t.KeyFile, CaFile: t.CAFile, Verify: t.CAFile != "" && !t.Insecure,
	})
	if err != nil {
		return fmt.Errorf("bus: loading the embedded server's TLS files: %w", err)
	}
	opts.TLS, opts.TLSConfig, opts.TLSTimeout = true, cfg, 2
	opts.TLSVerify = t.CAFile != "" && !t.Insecure
	return nil
}

// applyMonitor serves the monitoring endpoints on addr.
func applyMonitor(opts *server.Options, addr string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 0 || p > 65535 {
		return fmt.Errorf("bus: nats.monitor_addr %q is not host:port such as 127.0.0.1:8222", addr)
	}
	if p == 0 {
		p = server.RANDOM_PORT
	}
	opts.HTTPHost, opts.HTTPPort = host, p
	return nil
}

// certificateHint says in words what a TLS failure to connect means.
func certificateHint(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return " (the server's certificate is signed by no CA in nats.tls.ca_file, or in the system's roots without one)"
	case errors.As(err, &host):
		return " (the server's certificate does not name the host of nats.url)"
	case errors.As(err, &invalid):
		return " (the server's certificate is expired, not yet valid or not for a server)"
	}
	return ""
}

// MonitorURL is the embedded server's monitoring address, "" when it
// serves none.
func (b *Bus) MonitorURL() string {
	if b.ns == nil || b.cfg.MonitorAddr == "" {
		return ""
	}
	if a := b.ns.MonitorAddr(); a != nil {
		return "http://" + a.String()
	}
	return ""
}
