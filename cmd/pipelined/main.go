// Command pipelined is the build runner's daemon: see --help.
package main

import (
	"os"

	"pipelined/internal/cli"
)

func main() { os.Exit(cli.Main(newRootCommand())) }
