package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskrouter/taskrouter/task"
)

// Client keeps a session with one MCP server and serves its tools. It is
// safe for concurrent use; Close ends it.
type Client struct {
	cfg Config
	mcp *mcp.Client

	mu    sync.Mutex
	sess  *session         // the live session, or the last one while restarting
	tools map[string]*Tool // by capability name
	order []string         // capability names in the server's order
	// changed is closed and replaced whenever the session or the tools
	// change, waking calls waiting for a session and watchers.
	changed chan struct{}
	lastErr error // why the server is down, while it is

	progress sync.Map // progress token -> func(task.Progress)
	relist   chan struct{}
	quit     chan struct{}
	done     chan struct{}
	close    sync.Once
}

// Start connects to the server and lists its tools, and keeps the
// session up until Close: a server that dies is started again after a
// backoff, and a tools/list_changed notification lists the tools again.
// A server that cannot be started or listed now is an error; a tool with
// an invalid schema is left out with a warning naming it.
func Start(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg.withDefaults(), changed: make(chan struct{}), relist: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	c.mcp = mcp.NewClient(&mcp.Implementation{Name: "taskrouter", Version: "v1"}, &mcp.ClientOptions{
		Logger:                      c.cfg.Logger,
		ToolListChangedHandler:      func(context.Context, *mcp.ToolListChangedRequest) { c.askRelist() },
		ProgressNotificationHandler: c.onProgress,
	})
	s, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.list(ctx, s); err != nil {
		_ = s.cs.Close()
		return nil, err
	}
	c.sess = s
	go c.supervise(s)
	return c, nil
}

// Name is the server's name.
func (c *Client) Name() string { return c.cfg.Name }

// Tools returns the tools served now, in the server's order.
func (c *Client) Tools() []*Tool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Tool, 0, len(c.order))
	for _, name := range c.order {
		out = append(out, c.tools[name])
	}
	return out
}

// Spec is the model the server is served as: mcp/<name>, whose
// capabilities, each defined with its description and input schema, are
// its tools now.
func (c *Client) Spec() task.ModelSpec {
	spec := task.ModelSpec{Name: ModelName(c.cfg.Name), Backend: task.BackendMCP, BaseURL: c.cfg.URL,
		Concurrency: c.cfg.Concurrency, Capabilities: []string{}}
	for _, t := range c.Tools() {
		spec.Capabilities = append(spec.Capabilities, t.Capability.Name)
		spec.Defines = append(spec.Defines, t.Capability)
	}
	return spec
}

// list lists the session's tools and makes them the served ones.
func (c *Client) list(ctx context.Context, s *session) error {
	var all []*mcp.Tool
	for t, err := range s.cs.Tools(ctx, nil) {
		if err != nil {
			return fmt.Errorf("listing the tools of MCP server %s: %w", c.cfg.Name, err)
		}
		all = append(all, t)
	}
	tools, skipped := convertTools(c.cfg.Name, all)
	for _, err := range skipped {
		c.cfg.Logger.Warn("leaving out a tool", "server", c.cfg.Name, "reason", err.Error())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tools, c.order = map[string]*Tool{}, nil
	for _, t := range tools {
		c.tools[t.Capability.Name] = t
		c.order = append(c.order, t.Capability.Name)
	}
	c.changeLocked()
	return nil
}

// changeLocked wakes whoever waits for a change; c.mu must be held.
func (c *Client) changeLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Client) askRelist() {
	select {
	case c.relist <- struct{}{}:
	default: // one is pending already
	}
}

// Close ends the session and stops the server. It is idempotent.
func (c *Client) Close() error {
	c.close.Do(func() {
		close(c.quit)
		<-c.done
	})
	return nil
}

// Watch calls update with the server's spec each time its tools change,
// until ctx ends; it is the executors.Watcher the executor re-announces
// the model through.
func (c *Client) Watch(ctx context.Context, update func(task.ModelSpec)) {
	last := specKey(c.Spec())
	for {
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-changed:
		}
		spec := c.Spec()
		if key := specKey(spec); key != last {
			last = key
			update(spec)
		}
	}
}

func specKey(s task.ModelSpec) string {
	return strings.Join(s.Capabilities, "\x00") + fmt.Sprint(len(s.Defines))
}

// current returns a live session, waiting up to ctx for the server to be
// back when it is restarting.
func (c *Client) current(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		s, changed, lastErr := c.sess, c.changed, c.lastErr
		c.mu.Unlock()
		if s != nil && !s.ended() {
			return s, nil
		}
		select {
		case <-ctx.Done():
			e := task.Errorf(task.CodeUnavailable, "MCP server %s is down and restarting (%v); retry in a moment", c.cfg.Name, lastErr)
			e.RetryAfterMs = c.cfg.MinBackoff.Milliseconds()
			return nil, e
		case <-c.quit:
			return nil, task.Errorf(task.CodeUnavailable, "MCP server %s was stopped", c.cfg.Name)
		case <-changed: // the supervisor saw the session end, or started another
		}
	}
}

// supervise keeps the server up until Close: it lists the tools again
// when the server says they changed, and starts a session again when one
// ends, after a backoff that doubles while sessions die young.
func (c *Client) supervise(s *session) {
	defer close(c.done)
	wait := c.cfg.MinBackoff
	for {
		select {
		case <-c.quit:
			_ = s.cs.Close()
			return
		case <-c.relist:
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CallTimeout)
			if err := c.list(ctx, s); err != nil {
				c.cfg.Logger.Warn("listing tools after the server said they changed", "server", c.cfg.Name, "err", err)
			}
			cancel()
			continue
		case <-s.done:
		}
		if time.Since(s.started) > stableAfter {
			wait = c.cfg.MinBackoff
		}
		c.down(s)
		if s = c.restart(&wait); s == nil {
			return
		}
	}
}

// stableAfter is how long a session must have lasted for the next
// restart to wait only the shortest backoff.
const stableAfter = 30 * time.Second

// down records that the session ended.
func (c *Client) down(s *session) {
	why := s.err
	if why == nil {
		why = errors.New("the session ended")
	}
	why = fmt.Errorf("%w%s", why, s.stderr.said())
	c.cfg.Logger.Warn("MCP server stopped; starting it again", "server", c.cfg.Name, "err", why)
	c.mu.Lock()
	c.lastErr = why
	c.changeLocked()
	c.mu.Unlock()
}

// restart starts sessions, waiting *wait before each and doubling it,
// until one lists its tools; nil when Close came first.
func (c *Client) restart(wait *time.Duration) *session {
	for {
		select {
		case <-c.quit:
			return nil
		case <-time.After(*wait):
		}
		*wait = min(2**wait, c.cfg.MaxBackoff)
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CallTimeout)
		s, err := c.connect(ctx)
		if err == nil {
			if err = c.list(ctx, s); err != nil {
				_ = s.cs.Close()
			}
		}
		cancel()
		if err != nil {
			c.cfg.Logger.Warn("starting MCP server again", "server", c.cfg.Name, "err", err, "next_try_in", wait.String())
			c.mu.Lock()
			c.lastErr = err
			c.mu.Unlock()
			continue
		}
		c.cfg.Logger.Info("MCP server is back", "server", c.cfg.Name)
		c.mu.Lock()
		c.sess, c.lastErr = s, nil
		c.changeLocked()
		c.mu.Unlock()
		return s
	}
}
