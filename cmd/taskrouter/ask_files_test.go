package main

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePhoto writes a 640×480 colour PNG.
func writePhoto(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / 640), uint8(y * 255 / 480), 160, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// The offline demo of attachments: ask with a photo answers with its size
// and writes a grayscale PNG 128 px wide into the current directory.
func TestAskWithAFile(t *testing.T) {
	dir := t.TempDir()
	writePhoto(t, filepath.Join(dir, "photo.png"))
	t.Chdir(dir)
	code, out, errOut := runCLI(t, context.Background(), "ask", "--file", "photo.png", "What size is this image? Then make it grayscale and 128 px wide.")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"width: 640", "height: 480", "format: png", "wrote photo-edited.png (image/png", "![photo-edited.png](photo-edited.png)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the answer lacks %q:\n%s", want, out)
		}
	}
	f, err := os.Open(filepath.Join(dir, "photo-edited.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, format, err := image.Decode(f)
	if err != nil || format != "png" {
		t.Fatalf("decoding the file written: %s, %v", format, err)
	}
	if _, gray := img.(*image.Gray); !gray || img.Bounds().Dx() != 128 || img.Bounds().Dy() != 96 {
		t.Fatalf("the file written is a %T of %v, want a grayscale 128×96 image", img, img.Bounds())
	}
	// Asked again, the answer goes to --out, never over a file.
	out2 := filepath.Join(dir, "out")
	code, out, errOut = runCLI(t, context.Background(), "ask", "--quiet", "--file", "photo.png", "--file", "photo.png", "--out", out2, "make it grayscale and 128 px wide")
	if code != exitOK || !strings.Contains(out, "wrote "+filepath.Join(out2, "photo-edited.png")) {
		t.Fatalf("exit %d: %s\n%s", code, out, errOut)
	}
}

func TestAskFileErrors(t *testing.T) {
	dir := t.TempDir()
	lie := filepath.Join(dir, "lie.png")
	if err := os.WriteFile(lie, []byte("plain words, not a picture"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--file", filepath.Join(dir, "missing.png")}, "--file: open"},
		{[]string{"--file", lie}, "declared as image/png, but the content is text/plain"},
		{[]string{"--file", dir}, "is a directory"},
	} {
		code, _, errOut := runCLI(t, context.Background(), append(append([]string{"ask", "--quiet"}, c.args...), "What size is this image?")...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s; want %d saying %q", c.args, code, errOut, exitUsage, c.want)
		}
	}
}

// ask --nats attaches a file through the object store of a router's NATS
// and writes what it produced from there.
func TestAskFileOverNATS(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.yaml")
	yaml := "nats:\n  listen: " + addr + "\n  store_dir: " + filepath.Join(dir, "js") + "\nhttp:\n  addr: \"\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan int, 1)
	go func() {
		code, _, _ := runCLI(t, ctx, "serve", "--config", cfg)
		served <- code
	}()
	writePhoto(t, filepath.Join(dir, "photo.png"))
	out := filepath.Join(dir, "out")
	var code int
	var stdout, errOut string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		code, stdout, errOut = runCLI(t, context.Background(), "ask", "--quiet", "--nats", "nats://"+addr, "--file", filepath.Join(dir, "photo.png"),
			"--out", out, "make it grayscale and 128 px wide")
		if code != exitUnavailable {
			break
		}
	}
	if code != exitOK || !strings.Contains(stdout, "wrote "+filepath.Join(out, "photo-edited.png")) {
		t.Fatalf("exit %d: %s\n%s", code, stdout, errOut)
	}
	if _, err := os.Stat(filepath.Join(out, "photo-edited.png")); err != nil {
		t.Fatal(err)
	}
	stop()
	if code := <-served; code != exitOK {
		t.Fatalf("serve exited %d", code)
	}
}
