package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/task"
)

// ModelTaskrouter is the model name that plans, dispatches and merges.
const ModelTaskrouter = "taskrouter"

// modelCache keeps the registry's model list for a short while, so that
// routing a request by model name costs a map lookup, not a registry call.
type modelCache struct {
	lister ModelLister
	ttl    time.Duration

	cur     atomic.Pointer[modelSet]
	refresh sync.Mutex
}

type modelSet struct {
	at     time.Time
	byName map[string]task.ModelSpec
	names  []string // sorted
	// snapshotAt, when set, says the registry could not refresh the list
	// (its Redis is down): it is the last snapshot, as of then.
	snapshotAt time.Time
}

func newModelCache(l ModelLister, ttl time.Duration) *modelCache {
	return &modelCache{lister: l, ttl: ttl}
}

// get returns the list, refreshing it when older than the TTL.
func (c *modelCache) get(ctx context.Context) (*modelSet, error) {
	if s := c.cur.Load(); s != nil && time.Since(s.at) < c.ttl {
		return s, nil
	}
	return c.load(ctx, c.ttl)
}

// lookup finds a model by name. A name not in a list older than a quarter
// second triggers a refresh, so a model announced a moment ago is found.
func (c *modelCache) lookup(ctx context.Context, name string) (task.ModelSpec, bool, error) {
	s, err := c.get(ctx)
	if err != nil {
		return task.ModelSpec{}, false, err
	}
	if spec, ok := s.byName[name]; ok {
		return spec, true, nil
	}
	if s, err = c.load(ctx, 250*time.Millisecond); err != nil {
		return task.ModelSpec{}, false, err
	}
	spec, ok := s.byName[name]
	return spec, ok, nil
}

// load reads the registry unless another caller did within maxAge.
func (c *modelCache) load(ctx context.Context, maxAge time.Duration) (*modelSet, error) {
	c.refresh.Lock()
	defer c.refresh.Unlock()
	if s := c.cur.Load(); s != nil && time.Since(s.at) < maxAge {
		return s, nil
	}
	states, err := c.lister.Models(ctx)
	var stale *registry.StaleError
	switch {
	case errors.As(err, &stale):
		// The registry routes from the same snapshot: so does the API.
	case err != nil:
		return nil, task.Errorf(task.CodeUnavailable, "listing models from the registry: %v", err)
	}
	s := &modelSet{at: time.Now(), byName: make(map[string]task.ModelSpec, len(states))}
	if stale != nil {
		s.snapshotAt = stale.Since
	}
	for _, st := range states {
		s.byName[st.Spec.Name] = st.Spec
		s.names = append(s.names, st.Spec.Name)
	}
	sort.Strings(s.names)
	c.cur.Store(s)
	return s, nil
}

// modelObject is one entry of GET /v1/models, in OpenAI's shape.
type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// Capabilities is taskrouter's addition: what the model can do.
	Capabilities []string `json:"capabilities,omitempty"`
}

// started is reported as every model's creation time: the registry does
// not know when a model was made.
var started = time.Now().Unix()

func routerModel() modelObject {
	return modelObject{ID: ModelTaskrouter, Object: "model", Created: started, OwnedBy: "taskrouter"}
}

func specObject(spec task.ModelSpec) modelObject {
	return modelObject{ID: spec.Name, Object: "model", Created: started, OwnedBy: spec.Backend, Capabilities: spec.Capabilities}
}

// modelList is GET /v1/models' answer, in OpenAI's shape.
type modelList struct {
	Object string        `json:"object"`
	Data   []modelObject `json:"data"`
	// SnapshotAsOf is taskrouter's addition, set only while the registry's
	// Redis is unreachable: the list is the last snapshot, as of then,
	// and requests are routed from it.
	SnapshotAsOf *time.Time `json:"snapshot_as_of,omitempty"`
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	set, err := s.models.get(r.Context())
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	data := make([]modelObject, 0, len(set.names)+1)
	data = append(data, routerModel())
	for _, name := range set.names {
		data = append(data, specObject(set.byName[name]))
	}
	list := modelList{Object: "list", Data: data}
	if !set.snapshotAt.IsZero() {
		list.SnapshotAsOf = &set.snapshotAt
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request, _ caller) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	name := r.PathValue("model")
	if name == ModelTaskrouter {
		writeJSON(w, http.StatusOK, routerModel())
		return
	}
	spec, ok, err := s.models.lookup(r.Context(), name)
	switch {
	case err != nil:
		writeError(w, asAPIError(err))
	case !ok:
		writeError(w, modelNotFound(name))
	default:
		writeJSON(w, http.StatusOK, specObject(spec))
	}
}

func modelNotFound(name string) *apiError {
	return newError(http.StatusNotFound, typeInvalidRequest, "model_not_found",
		"The model `"+name+"` does not exist. Use \"taskrouter\" to let taskrouter plan, or a name from GET /v1/models.").withParam("model")
}
