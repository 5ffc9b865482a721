package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"pipelined/internal/admin"
	"pipelined/internal/cli"
	"pipelined/internal/exitcode"
	"pipelined/internal/workdir"
)

// The subcommands an operator runs beside the daemon (package admin): they work from the
// spool and the work directory, whether the daemon runs or not.

func newStatusCommand(paths *cli.Paths) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status --workdir PATH [--config CONFIG.INI]",
		Short: "Show the daemon, queued jobs, running builds and each ref's state",
		Long: `status reads the spool and the work directory and shows whether the daemon runs (and its
pid), the queued jobs in the order they will run (a job waiting to be retried says which
attempt failed, why, and when it runs next), the running builds with what started them
(watch, webhook, manual) and their elapsed time, and for each ref its state — its newest build that succeeded or failed: result, commit,
age, duration, directory and how many builds it has; under it a newer build that did not
decide (canceled, running) and a failure's last lines of output. A ref recorded without
a build (build_existing = False) says so. With --config (optional here), a ref whose project sets keep_builds or
keep_days also says what retention removes now, or which build its next build pushes out.
It works whether the daemon runs or not.

EXIT STATUS
  0    shown
  1    the work directory could not be read
  2    usage error, a work directory without .pipelined/ (a mistyped --workdir), or an
       invalid --config file

Example:
  pipelined status --workdir /var/pipelined --config /etc/pipelined.ini`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if paths.Workdir == "" {
				return exitcode.Usagef("--workdir is required")
			}
			return admin.Status(cmd.OutOrStdout(), paths.Workdir, paths.Config)
		},
	}
	paths.AddWorkdirFlag(cmd.Flags(), "output and state directory (required)")
	paths.AddConfigFlag(cmd.Flags(), "project configuration file (optional: with it, status also says what keep_builds and keep_days remove)")
	return cmd
}

func newEnqueueCommand(paths *cli.Paths) *cobra.Command {
	var o admin.EnqueueOptions
	cmd := &cobra.Command{
		Use:   "enqueue --config CONFIG.INI --workdir PATH PROJECT REF [COMMIT]",
		Short: "Queue a build of a project's branch or tag",
		Long: `enqueue writes a job file into the spool, the way the watcher and webhooks do: a running
daemon starts the build as soon as a slot is free, a stopped one at its next start.
REF is a full ref (refs/heads/main, refs/tags/v1.2) or a branch or tag name, which is
looked up on the remote. Without COMMIT, the commit the ref points to now is queued (if the
remote cannot be asked, the build takes what the ref points to when it starts). With --only-matching (what the webhook script uses) a ref that the project's
branches or tags regex does not match is not queued, and enqueue still exits 0.

A commit that is built already (success, failed or skipped) or queued is not built again:
a repeated enqueue, or a webhook delivered twice, costs nothing. --rebuild builds it again
all the same (a canceled build never counts as built).

EXIT STATUS
  0    queued (with --only-matching, also a ref the project does not build: nothing queued)
  1    the job could not be written, or the remote could not be asked for a short REF
  2    usage error: an unknown or disabled project, an invalid ref or commit, a work
       directory without .pipelined/, or an invalid configuration file

Example:
  pipelined enqueue --config /etc/pipelined.ini \
      --workdir /var/pipelined example-project main`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := paths.Require(); err != nil {
				return err
			}
			o.Config, o.Workdir, o.Project, o.Ref = paths.Config, paths.Workdir, args[0], args[1]
			if len(args) == 3 {
				o.Commit = args[2]
			}
			q, err := admin.Enqueue(cmd.Context(), o)
			out := cmd.OutOrStdout()
			if errors.Is(err, admin.ErrNotMatching) {
				fmt.Fprintf(out, "not queued: project %s does not build %s (see its branches and tags)\n", o.Project, o.Ref)
				return nil
			}
			if err != nil {
				return err
			}
			if q.Unresolved != nil {
				fmt.Fprintf(out, "queued %s %s as %s, without its commit, which the build finds when it starts (%v)\n",
					q.Job.Project, q.Job.Ref, q.Name, q.Unresolved)
				return nil
			}
			fmt.Fprintf(out, "queued %s %s at %s as %s\n", q.Job.Project, q.Job.Ref, workdir.ShortCommit(q.Job.Commit), q.Name)
			return nil
		},
	}
	paths.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.Source, "source", "manual", "who asks for the build, recorded in the job and build.json")
	cmd.Flags().BoolVar(&o.OnlyMatching, "only-matching", false, "queue only a ref the project builds: its branches or tags regex matches, or a pull request's head with pull_requests = True")
	cmd.Flags().BoolVar(&o.Rebuild, "rebuild", false, "build the commit again even if it is built already")
	return cmd
}

func newCancelCommand(paths *cli.Paths) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cancel --workdir PATH PROJECT [REF [COMMIT]]",
		Short: "Drop queued jobs and cancel running builds of a project, a ref or a commit",
		Long: `cancel drops the queued jobs of PROJECT (of its REF, at COMMIT, when given) and cancels its
running builds, whether the daemon runs or not. REF is a full ref or a branch or tag name;
COMMIT a full commit or a prefix of at least 4 hex digits.

A running build gets SIGTERM: it stops its command and container, runs error_callback with
BUILD_STATUS=canceled and records "canceled by hand" in build.json. A marker beside its job
tells the daemon, now or at its next start, to remove the job rather than build it again.

cancel prints a line for each job or build it stops, and exits 1 when nothing matched.

EXIT STATUS
  0    at least one queued job was dropped or running build canceled
  1    nothing matched, or nothing that matched could be stopped
  2    usage error, or a work directory without .pipelined/

Example:
  pipelined cancel --workdir /var/pipelined example-project main`,
		Args: cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if paths.Workdir == "" {
				return exitcode.Usagef("--workdir is required")
			}
			o := admin.CancelOptions{Workdir: paths.Workdir, Project: args[0]}
			if len(args) > 1 {
				o.Ref = args[1]
			}
			if len(args) > 2 {
				o.Commit = args[2]
			}
			err := admin.Cancel(cmd.OutOrStdout(), o)
			if errors.Is(err, admin.ErrNothingMatched) {
				cmd.PrintErrln("pipelined cancel: nothing matched: no queued job or running build of", o.Project, o.Ref, o.Commit)
				return &exitcode.SilentError{Code: exitcode.Failure}
			}
			return err
		},
	}
	paths.AddWorkdirFlag(cmd.Flags(), "output and state directory (required)")
	// cancel needs no configuration; --config is still accepted, so that one set of flags
	// serves every subcommand in a script.
	paths.AddConfigFlag(cmd.Flags(), "not used by cancel")
	cmd.Flags().MarkHidden("config")
	return cmd
}

func newPruneCommand(paths *cli.Paths) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune --config CONFIG.INI --workdir PATH [--dry-run] [PROJECT]",
		Short: "Remove the finished builds that keep_builds and keep_days do not keep",
		Long: `prune applies the keep_builds and keep_days keys of every project (or of PROJECT) to each of
its refs, as the daemon does after every build of a ref: it removes the build directories
beyond the newest keep_builds finished builds, and those finished more than keep_days days
ago, with the images their docker build made when no build that stays records the same
image and no container uses it. Never removed: a running build, the newest build of each
ref whatever its result, and the newest successful build of each ref. With --dry-run it
only says what it would remove. For cron, and to preview a new setting.

Docker's build cache is not pipelined's: run "docker builder prune" (or "docker system
prune") yourself, on a schedule that suits the host.

EXIT STATUS
  0    done (also when there was nothing to remove)
  1    a build directory that is due could not be removed
  2    usage error, an unknown project, a work directory without .pipelined/, or an
       invalid configuration file

Example:
  pipelined prune --dry-run \
      --config /etc/pipelined.ini --workdir /var/pipelined`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := paths.Require(); err != nil {
				return err
			}
			o := admin.PruneOptions{Config: paths.Config, Workdir: paths.Workdir, DryRun: dryRun}
			if len(args) == 1 {
				o.Project = args[0]
			}
			n, err := admin.Prune(cmd.Context(), cmd.OutOrStdout(), o)
			if err == nil && n == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing to remove")
			}
			return err
		},
	}
	paths.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be removed, remove nothing")
	return cmd
}

func newPollCommand(paths *cli.Paths) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "poll --config CONFIG.INI --workdir PATH [PROJECT]",
		Short: "Poll every remote (or PROJECT's) now, whatever the interval",
		Long: `poll asks for the remotes to be polled now: every one, or PROJECT's. A running daemon gets
SIGUSR1, which it passes to its watcher; "kill -USR1 PID" does the same for every remote.
Without a daemon, poll runs one pass itself and prints what it did, as "pipeline-watch
--once" does; the jobs it writes wait in the spool. It exits 1 when a remote could not be
listed.

For forges that can only call a URL (no payload to read), the webhook script can run
"pipelined poll PROJECT".

EXIT STATUS
  0    the daemon was asked, or (without a daemon) every remote answered
  1    the daemon could not be signaled, or (without a daemon) a remote could not be listed
  2    usage error, an unknown or unwatched project, a work directory without .pipelined/,
       or an invalid configuration file

Example:
  pipelined poll --config /etc/pipelined.ini --workdir /var/pipelined \
      example-project`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := paths.Require(); err != nil {
				return err
			}
			watchBin, err := cli.FindSibling("pipeline-watch")
			if err != nil {
				return err
			}
			o := admin.PollOptions{Config: paths.Config, Workdir: paths.Workdir, Watch: watchBin}
			if len(args) == 1 {
				o.Project = args[0]
			}
			return admin.Poll(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	paths.AddFlags(cmd.Flags())
	return cmd
}
