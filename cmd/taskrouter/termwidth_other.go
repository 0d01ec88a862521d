//go:build !unix

package main

import "os"

// terminalColumns is 0 where the width of a terminal is not looked up.
func terminalColumns(*os.File) int { return 0 }
