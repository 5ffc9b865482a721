// Package rsync builds the rsync command line of SPEC §7.1 that mirrors the artifacts (or
// the checkout) to a local directory or a remote destination.
package rsync

// Options are the inputs of the rsync step.
type Options struct {
	Source      string // DROP_PATH after a run step, else BUILD_PATH; a trailing / is added
	Destination string // already $-interpolated
	Checksum    bool
	Preserve    bool
	Delete      bool
	IncludeFrom string // absolute path, "" for none
	// MkPath adds --mkpath (rsync 3.2.3 and later): a remote destination's missing
	// directories are made by the receiving rsync. A local destination's are made before.
	MkPath bool
}

// Args is the rsync command line of SPEC §7.1.
func Args(o Options) []string {
	args := []string{"rsync", "--verbose", "--recursive", "--links", "--exclude", ".git"}
	if o.Checksum {
		args = append(args, "--checksum")
	}
	if o.Preserve {
		args = append(args, "--owner", "--group", "--perms", "--times")
	}
	if o.Delete {
		args = append(args, "--delete-after", "--delete-excluded")
	}
	if o.IncludeFrom != "" {
		args = append(args, "--include-from", o.IncludeFrom)
	}
	if o.MkPath {
		args = append(args, "--mkpath")
	}
	return append(args, "--", o.Source+"/", o.Destination)
}
