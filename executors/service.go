package executors

import (
	"strconv"
	"strings"

	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/task"
)

// ServiceName is the executors' name in NATS's service discovery.
const ServiceName = "taskrouter-executor"

// register makes this executor a NATS service: `nats micro info` shows an
// endpoint per model with its capabilities, and `nats micro stats` the
// subtasks each answered, those that failed, and their time.
func (e *Executor) register() error {
	cfg := bus.ServiceConfig{Name: ServiceName, Version: e.cfg.Version,
		Description: "runs subtasks on its models; answers accepted, progress, then a result or an error",
		Metadata:    map[string]string{"executor": e.cfg.ID, "models": strings.Join(e.Models(), ",")}}
	endpoint := map[string]string{} // model -> endpoint name, unique
	used := map[string]bool{}
	for _, name := range e.Models() {
		ep := bus.EndpointName(name)
		for n := 2; used[ep]; n++ {
			ep = bus.EndpointName(name) + "_" + strconv.Itoa(n)
		}
		used[ep], endpoint[name] = true, ep
		spec := e.models[name].Spec
		cfg.Endpoints = append(cfg.Endpoints, bus.EndpointConfig{Name: ep, Subject: task.ModelSubject(name), QueueGroup: name,
			Metadata: map[string]string{"model": name, "backend": spec.Backend, "capabilities": strings.Join(spec.Capabilities, ","),
				"concurrency": strconv.Itoa(e.models[name].workers)}})
	}
	svc, err := bus.StartService(e.nc, cfg)
	if err != nil {
		return err
	}
	e.service = svc
	for _, name := range e.Models() {
		e.models[name].stats = svc.Endpoint(endpoint[name])
	}
	return nil
}

func failure(e *task.Error) string {
	if e == nil {
		return ""
	}
	return string(e.Code) + ": " + e.Message
}
