// Package e2e holds the end-to-end tests: they build the three binaries once and drive them
// as an operator would, against real git repositories made in temporary directories (by
// path and through git daemon on 127.0.0.1), the real Docker engine with a base image made
// locally, real rsync and real signals.
package e2e
