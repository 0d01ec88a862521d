package bus

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nuid"
)

// ServiceConfig describes a process to NATS's service discovery: its
// name (taskrouter-router, taskrouter-executor), version, and endpoints.
type ServiceConfig struct {
	Name        string
	Version     string
	Description string
	Metadata    map[string]string
	Endpoints   []EndpointConfig
}

// EndpointConfig is one subject the process serves.
type EndpointConfig struct {
	Name       string
	Subject    string
	QueueGroup string
	Metadata   map[string]string
}

// Service answers $SRV.PING, $SRV.INFO and $SRV.STATS as nats.go's micro
// package does (its types and subjects), so `nats micro list`, `info` and
// `stats` show taskrouter's processes. micro.AddService measures a
// handler's own run, but taskrouter's handlers hand work to workers in
// microseconds: here each endpoint counts a request when its answer is
// sent, with the whole time it took and whether it failed.
type Service struct {
	cfg       ServiceConfig
	id        string
	started   time.Time
	endpoints []*Endpoint
	subs      []*nats.Subscription
	stopOnce  sync.Once
}

// Endpoint holds one endpoint's statistics. Its methods are safe for
// concurrent use, and on a nil Endpoint they do nothing.
type Endpoint struct {
	cfg        EndpointConfig
	requests   atomic.Int64
	errors     atomic.Int64
	processing atomic.Int64 // nanoseconds
	lastError  atomic.Pointer[string]
}

// Record counts one answered request that took d; failure, when not
// empty, is why it failed.
func (e *Endpoint) Record(d time.Duration, failure string) {
	if e == nil {
		return
	}
	e.requests.Add(1)
	e.processing.Add(int64(d))
	if failure != "" {
		e.errors.Add(1)
		e.lastError.Store(&failure)
	}
}

// StartService subscribes to the discovery subjects of cfg.Name. The
// endpoints' own subscriptions are the caller's.
func StartService(nc *nats.Conn, cfg ServiceConfig) (*Service, error) {
	s := &Service{cfg: cfg, id: nuid.Next(), started: time.Now().UTC()}
	if s.cfg.Version == "" {
		s.cfg.Version = "0.0.0"
	}
	for _, ec := range cfg.Endpoints {
		s.endpoints = append(s.endpoints, &Endpoint{cfg: ec})
	}
	for _, subject := range []string{micro.APIPrefix + ".*", micro.APIPrefix + ".*." + cfg.Name, micro.APIPrefix + ".*." + cfg.Name + "." + s.id} {
		sub, err := nc.Subscribe(subject, s.answer)
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("registering service %s: %w", cfg.Name, err)
		}
		s.subs = append(s.subs, sub)
	}
	return s, nil
}

// Endpoint returns the named endpoint's statistics, nil when there is none.
func (s *Service) Endpoint(name string) *Endpoint {
	for _, e := range s.endpoints {
		if e.cfg.Name == name {
			return e
		}
	}
	return nil
}

// ID is the service instance's id in discovery subjects.
func (s *Service) ID() string { return s.id }

// Stop stops answering discovery requests. It is idempotent.
func (s *Service) Stop() {
	if s == nil {
		return
	}
	s.stopOnce.Do(func() {
		for _, sub := range s.subs {
			_ = sub.Unsubscribe()
		}
	})
}

func (s *Service) answer(msg *nats.Msg) {
	verb, _, _ := strings.Cut(strings.TrimPrefix(msg.Subject, micro.APIPrefix+"."), ".")
	var body any
	switch verb {
	case micro.PingVerb.String():
		body = micro.Ping{ServiceIdentity: s.identity(), Type: micro.PingResponseType}
	case micro.InfoVerb.String():
		body = s.info()
	case micro.StatsVerb.String():
		body = s.stats()
	default:
		return
	}
	data, err := json.Marshal(body)
	if err == nil {
		_ = msg.Respond(data)
	}
}

func (s *Service) identity() micro.ServiceIdentity {
	return micro.ServiceIdentity{Name: s.cfg.Name, ID: s.id, Version: s.cfg.Version, Metadata: maps.Clone(s.cfg.Metadata)}
}

func (s *Service) info() micro.Info {
	info := micro.Info{ServiceIdentity: s.identity(), Type: micro.InfoResponseType, Description: s.cfg.Description,
		Endpoints: make([]micro.EndpointInfo, 0, len(s.endpoints))}
	for _, e := range s.endpoints {
		info.Endpoints = append(info.Endpoints, micro.EndpointInfo{Name: e.cfg.Name, Subject: e.cfg.Subject,
			QueueGroup: e.cfg.QueueGroup, Metadata: maps.Clone(e.cfg.Metadata)})
	}
	return info
}

func (s *Service) stats() micro.Stats {
	st := micro.Stats{ServiceIdentity: s.identity(), Type: micro.StatsResponseType, Started: s.started,
		Endpoints: make([]*micro.EndpointStats, 0, len(s.endpoints))}
	for _, e := range s.endpoints {
		es := &micro.EndpointStats{Name: e.cfg.Name, Subject: e.cfg.Subject, QueueGroup: e.cfg.QueueGroup,
			NumRequests: int(e.requests.Load()), NumErrors: int(e.errors.Load()),
			ProcessingTime: time.Duration(e.processing.Load())}
		if es.NumRequests > 0 {
			es.AverageProcessingTime = es.ProcessingTime / time.Duration(es.NumRequests)
		}
		if last := e.lastError.Load(); last != nil {
			es.LastError = *last
		}
		st.Endpoints = append(st.Endpoints, es)
	}
	return st
}

// EndpointName turns a model name into a service endpoint name, which
// holds only letters, digits, '-' and '_' (local/calc is local_calc);
// the exact name is in the endpoint's metadata.
func EndpointName(model string) string {
	b := []byte(model)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
