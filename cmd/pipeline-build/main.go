// Command pipeline-build runs one complete build: see --help.
package main

import (
	"os"

	"pipelined/internal/cli"
)

func main() { os.Exit(cli.Main(newRootCommand())) }
