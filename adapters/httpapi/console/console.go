// Package console is taskrouter's web console: the page (HTML, CSS and
// JavaScript embedded in the binary, no build step) and the recorder
// that keeps the recent requests it draws, fed by the router's events.
// The HTTP routes that serve both are in package httpapi.
package console

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Assets returns the page's files: index.html, console.css, console.js.
func Assets() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded: it is there
	}
	return sub
}
