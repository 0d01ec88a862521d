package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taskrouter/taskrouter/artifacts"
	"github.com/taskrouter/taskrouter/bus"
	"github.com/taskrouter/taskrouter/executors"
	"github.com/taskrouter/taskrouter/registry"
	"github.com/taskrouter/taskrouter/router"
	"github.com/taskrouter/taskrouter/task"
)

// artifactBench is what bench reports of binary data: throughput of an
// artifact through the store and an executor (stored, fetched by the
// executor, its result stored) against raw JetStream object store
// put-plus-get of the same bytes in the same run, for 1 MiB and 16 MiB;
// and the peak RSS of a serve process while 8 uploads of 16 MiB run at
// once.
type artifactBench struct {
	Artifact1MiBMBs     float64 `json:"artifact_1mib_mb_s"`
	Artifact1MiBRawMBs  float64 `json:"artifact_1mib_raw_mb_s"`
	Artifact1MiBRatio   float64 `json:"artifact_1mib_ratio"`
	Artifact16MiBMBs    float64 `json:"artifact_16mib_mb_s"`
	Artifact16MiBRawMBs float64 `json:"artifact_16mib_raw_mb_s"`
	Artifact16MiBRatio  float64 `json:"artifact_16mib_ratio"`
	UploadPeakRSSMB     float64 `json:"http_upload_peak_rss_mb"`
	UploadMBs           float64 `json:"http_upload_mb_s"`
}

// Sizes and counts of the artifact bench.
const (
	benchUploads    = 8
	benchUploadSize = 16 << 20
)

// copyModel is the bench's artifact model: it streams the artifact it
// reads into a new one, its first byte changed so that it is new bytes.
type copyModel struct{}

func (copyModel) Generate(context.Context, task.Work, func(string)) (task.Output, error) {
	return task.Output{}, task.Errorf(task.CodeBadInput, "bench/copy copies artifacts")
}

func (copyModel) GenerateArtifacts(ctx context.Context, w task.Work, store task.Artifacts, _ func(string)) (task.Output, error) {
	rc, ref, err := store.Open(ctx, w.Artifacts[0].ID)
	if err != nil {
		return task.Output{}, err
	}
	defer rc.Close()
	out, err := store.Put(ctx, task.ArtifactRef{MIME: ref.MIME}, &flipFirst{r: rc})
	return task.Output{Text: out.ID, Artifacts: []task.ArtifactRef{out}}, err
}

// flipFirst inverts the first byte it reads.
type flipFirst struct {
	r    io.Reader
	done bool
}

func (f *flipFirst) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && !f.done {
		p[0], f.done = ^p[0], true
	}
	return n, err
}

// benchArtifacts measures the artifact path and the raw object store in
// alternating rounds on one embedded NATS.
func benchArtifacts(ctx context.Context) (artifactBench, error) {
	var ab artifactBench
	b, err := bus.Start(ctx, bus.Config{Name: "bench-artifacts"})
	if err != nil {
		return ab, unavailableError{err}
	}
	defer b.Close()
	p, err := newArtifactPath(ctx, b)
	if err != nil {
		return ab, err
	}
	defer p.close()
	for _, m := range []struct {
		size, rounds     int
		subject, raw, at *float64
	}{
		{1 << 20, 25, &ab.Artifact1MiBMBs, &ab.Artifact1MiBRawMBs, &ab.Artifact1MiBRatio},
		{16 << 20, 7, &ab.Artifact16MiBMBs, &ab.Artifact16MiBRawMBs, &ab.Artifact16MiBRatio},
	} {
		subject, raw, err := p.measure(ctx, m.size, m.rounds)
		if err != nil {
			return ab, err
		}
		*m.subject, *m.raw, *m.at = subject, raw, round3(subject/raw)
	}
	return ab, nil
}

// artifactPath is the store, an executor of copyModel and a router, and
// the raw object store bucket they are compared with.
type artifactPath struct {
	store *artifacts.Store
	raw   jetstream.ObjectStore
	r     *router.Router
	ex    *executors.Executor
	reg   *registry.Memory
}

func newArtifactPath(ctx context.Context, b *bus.Bus) (*artifactPath, error) {
	p := &artifactPath{reg: registry.NewMemory()}
	conns := make([]*nats.Conn, 4)
	for i := range conns {
		nc, err := b.Connect(fmt.Sprintf("bench-artifacts-%d", i))
		if err != nil {
			return nil, err
		}
		conns[i] = nc
	}
	var err error
	if p.store, err = artifacts.Open(ctx, conns[0], artifacts.Config{MaxBytes: 64 << 20}); err != nil {
		return nil, err
	}
	js, err := jetstream.New(conns[1])
	if err != nil {
		return nil, err
	}
	if p.raw, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "bench_raw", Storage: jetstream.FileStorage}); err != nil {
		return nil, err
	}
	spec := task.ModelSpec{Name: "bench/copy", Backend: task.BackendLocal, Capabilities: []string{"copy"}, Concurrency: 4}
	if p.ex, err = executors.Start(ctx, conns[2], executors.Config{ID: "bench", Announcer: p.reg, Artifacts: p.store,
		Models: []executors.Served{{Spec: spec, Model: copyModel{}}}}); err != nil {
		return nil, err
	}
	cat, err := task.NewCatalog(task.Capability{Name: "copy", Description: "copy a file", Inputs: []string{task.TypeFile}, Outputs: []string{task.TypeFile}})
	if err != nil {
		return nil, err
	}
	p.r, err = router.New(conns[3], p.reg, nil, router.Config{Catalog: cat, Artifacts: p.store, AcceptTimeout: 10 * time.Second})
	return p, err
}

func (p *artifactPath) close() {
	if p.ex != nil {
		p.ex.Stop()
	}
	if p.r != nil {
		_ = p.r.Close()
	}
	_ = p.reg.Close()
}

// measure returns the MB/s of size-byte payloads through the artifact
// path and through raw put-plus-get, in alternating rounds.
func (p *artifactPath) measure(ctx context.Context, size, rounds int) (subject, raw float64, err error) {
	payload := make([]byte, size)
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	for i := 0; i+8 <= size; i += 8 {
		binary.LittleEndian.PutUint64(payload[i:], rng.Uint64())
	}
	var took [2][]time.Duration
	for i := 0; i <= rounds; i++ { // round 0 warms up
		binary.LittleEndian.PutUint64(payload, uint64(time.Now().UnixNano())) // new bytes, no dedupe
		d, err := timed(func() error { return p.rawPutGet(ctx, payload, i) })
		if err != nil {
			return 0, 0, fmt.Errorf("raw object store: %w", err)
		}
		e, err := timed(func() error { return p.throughExecutor(ctx, payload) })
		if err != nil {
			return 0, 0, fmt.Errorf("artifact through an executor: %w", err)
		}
		if i > 0 {
			took[0], took[1] = append(took[0], e), append(took[1], d)
		}
	}
	// Medians: a busy moment of a shared machine spoils a round or two.
	mb := float64(size) / (1 << 20)
	return round3(mb / median(took[0]).Seconds()), round3(mb / median(took[1]).Seconds()), nil
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func (p *artifactPath) rawPutGet(ctx context.Context, payload []byte, i int) error {
	name := fmt.Sprintf("raw-%d", i)
	// The chunks the artifact store uses, so that the ratio is its overhead.
	meta := jetstream.ObjectMeta{Name: name, Opts: &jetstream.ObjectMetaOptions{ChunkSize: artifacts.DefaultChunkSize}}
	if _, err := p.raw.Put(ctx, meta, bytes.NewReader(payload)); err != nil {
		return err
	}
	res, err := p.raw.Get(ctx, name)
	if err != nil {
		return err
	}
	defer res.Close()
	_, err = io.Copy(io.Discard, res)
	return err
}

func (p *artifactPath) throughExecutor(ctx context.Context, payload []byte) error {
	in, err := p.store.Put(ctx, task.ArtifactRef{MIME: "application/octet-stream"}, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	plan := task.Plan{Tasks: []task.Subtask{{ID: "t1", Capability: "copy", Input: "{{a1}}", Deps: []string{}}}}
	req := task.Request{Input: "copy", Attachments: []task.Attachment{{Artifact: in.ID, MIME: in.MIME, Size: in.Size}}}
	resp := p.r.Run(ctx, req, plan, nil)
	if resp.Error != nil {
		return resp.Error
	}
	if len(resp.Artifacts) != 1 || resp.Artifacts[0].Size != int64(len(payload)) {
		return fmt.Errorf("the executor produced %+v", resp.Artifacts)
	}
	return nil
}

// uploadRSS starts `taskrouter serve`, sends it benchUploads uploads of
// benchUploadSize bytes at once on POST /v1/files, and reads its peak RSS.
func uploadRSS(ctx context.Context) (peakMB, mbs float64, err error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	dir, err := os.MkdirTemp("", "taskrouter-bench-upload-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	addr, err := freeLoopbackAddr()
	if err != nil {
		return 0, 0, err
	}
	cfg := filepath.Join(dir, "serve.yaml")
	yaml := "nats:\n  store_dir: " + filepath.Join(dir, "js") + "\nhttp:\n  addr: " + addr + "\nexecutors: []\nlog:\n  level: error\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return 0, 0, err
	}
	cmd := exec.Command(exe, "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), "TASKROUTER_API_KEYS=", "TASKROUTER_CPU_PROFILE=", "TASKROUTER_PPROF_ADDR=")
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer stopProcess(cmd)
	url := "http://" + addr
	if err := waitHealthy(ctx, url+"/v1/models", "taskrouter"); err != nil {
		return 0, 0, err
	}
	took, err := timed(func() error { return uploadAll(ctx, url) })
	if err != nil {
		return 0, 0, err
	}
	mbs = round3(float64(benchUploads*benchUploadSize) / (1 << 20) / took.Seconds())
	return peakRSS(cmd.Process.Pid), mbs, nil
}

// uploadAll sends the uploads at once, each generated as it is sent.
func uploadAll(ctx context.Context, url string) error {
	var wg sync.WaitGroup
	errs := make([]error, benchUploads)
	for i := range benchUploads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = upload(ctx, url, uint64(i))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// upload posts benchUploadSize random bytes as multipart, streamed.
func upload(ctx context.Context, url string, seed uint64) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", fmt.Sprintf("bench-%d.bin", seed))
		if err == nil {
			rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
			buf := make([]byte, 64<<10)
			for sent := 0; sent < benchUploadSize && err == nil; sent += len(buf) {
				for i := 0; i+8 <= len(buf); i += 8 {
					binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
				}
				_, err = part.Write(buf)
			}
		}
		if err == nil {
			err = mw.WriteField("purpose", "user_data")
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/files", pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /v1/files: %d %s", resp.StatusCode, body)
	}
	return nil
}

func printArtifactBench(w io.Writer, a artifactBench) {
	fmt.Fprintf(w, "artifact 1 MiB via executor %8.1f MB/s   raw object store put+get %8.1f MB/s   ratio %.2f (target >= 0.5)\n",
		a.Artifact1MiBMBs, a.Artifact1MiBRawMBs, a.Artifact1MiBRatio)
	fmt.Fprintf(w, "artifact 16 MiB via executor %7.1f MB/s   raw object store put+get %8.1f MB/s   ratio %.2f (target >= 0.5)\n",
		a.Artifact16MiBMBs, a.Artifact16MiBRawMBs, a.Artifact16MiBRatio)
	fmt.Fprintf(w, "serve peak RSS, %d uploads of %d MiB at once %.1f MB (target <= 200), %.1f MB/s\n",
		benchUploads, benchUploadSize>>20, a.UploadPeakRSSMB, a.UploadMBs)
}
