package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RedisConfig says where the shared registry lives; empty URL keeps it in
// memory. The URL may name an ACL user (redis://user@host:6379/0) and use
// TLS (rediss://); the password comes from PasswordEnv, never the file.
type RedisConfig struct {
	URL string `yaml:"url"`
	// PasswordEnv names the variable holding the password of the URL's
	// user (or of Redis's default user).
	PasswordEnv string `yaml:"password_env"`
	// TLS applies to rediss:// URLs: ca_file for a private CA, cert_file
	// and key_file when Redis asks for a client certificate.
	TLS TLSConfig `yaml:"tls"`
}

func (r *RedisConfig) validate(bad func(string, ...any)) {
	if r.URL == "" {
		if r.PasswordEnv != "" || r.TLS.CAFile != "" || r.TLS.CertFile != "" {
			bad("redis.password_env and redis.tls apply to redis.url, which is empty")
		}
		return
	}
	if !strings.HasPrefix(r.URL, "redis://") && !strings.HasPrefix(r.URL, "rediss://") {
		bad("redis.url: must start with redis:// or rediss://")
		return
	}
	if _, err := redis.ParseURL(r.URL); err != nil {
		bad("redis.url: %v; use redis://[user@]host:6379/0", err)
	}
	if r.PasswordEnv != "" && !envName.MatchString(r.PasswordEnv) {
		bad("redis.password_env: %q is not an environment variable name such as REDIS_PASSWORD", r.PasswordEnv)
	}
	if !strings.HasPrefix(r.URL, "rediss://") && (r.TLS.CAFile != "" || r.TLS.CertFile != "") {
		bad("redis.tls applies to rediss:// URLs; use rediss://")
	}
	if (r.TLS.CertFile == "") != (r.TLS.KeyFile == "") {
		bad("redis.tls: cert_file and key_file go together")
	}
}

// redisOptions are the client options of the configured Redis: the URL,
// the password from its variable, and the TLS files.
func redisOptions(r RedisConfig, getenv func(string) string) (*redis.Options, error) {
	o, err := redis.ParseURL(r.URL)
	if err != nil {
		return nil, usageError{fmt.Sprintf("redis.url: %v", err)}
	}
	if r.PasswordEnv != "" {
		if o.Password = getenv(r.PasswordEnv); o.Password == "" {
			return nil, usageError{fmt.Sprintf("redis.password_env: %s is empty or unset", r.PasswordEnv)}
		}
	}
	if o.TLSConfig != nil {
		if err := applyRedisTLS(o.TLSConfig, r.TLS); err != nil {
			return nil, usageError{err.Error()}
		}
	}
	o.ContextTimeoutEnabled = true
	return o, nil
}

func applyRedisTLS(cfg *tls.Config, t TLSConfig) error {
	cfg.InsecureSkipVerify = !t.Verify
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return fmt.Errorf("reading redis.tls.ca_file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("reading redis.tls.ca_file %s: no PEM certificate in it", t.CAFile)
		}
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return fmt.Errorf("loading redis.tls.cert_file and key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return nil
}
