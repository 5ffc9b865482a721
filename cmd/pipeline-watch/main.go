// Command pipeline-watch finds new branches and tags and writes job files: see --help.
package main

import (
	"os"

	"pipelined/internal/cli"
)

func main() { os.Exit(cli.Main(newRootCommand())) }
