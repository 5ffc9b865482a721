module pipelined

go 1.26.8

require (
	github.com/fsnotify/fsnotify v1.10.1
	github.com/spf13/cobra v1.10.2
	github.com/spf13/pflag v1.0.9
	golang.org/x/sys v0.13.0
	gopkg.in/ini.v1 v1.68.0
)

require github.com/inconshreveable/mousetrap v1.1.0 // indirect
