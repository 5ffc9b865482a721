package smarthttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"pipelined/internal/git"
	"pipelined/internal/procexec"
)

// ErrUseGit is wrapped by every error that means "ask git instead": the configuration or
// environment may change git's answer, or the server answered in a way this package does
// not handle exactly as git does. The rest of the message says why.
var ErrUseGit = errors.New("listing through git")

func useGit(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUseGit, fmt.Sprintf(format, args...))
}

// accessError is a listing that failed the way git reports with "unable to access": the
// remote's credentials masked, the URL git quotes without them. It wraps procexec's
// ErrTimedOut or ErrCanceled when the context ended the listing, as git.LsRemote does.
type accessError struct {
	remote, reason string
	err            error
}

func (e *accessError) Error() string {
	return fmt.Sprintf("git ls-remote %s: fatal: unable to access '%s': %s",
		git.MaskURL(e.remote), withSlash(anonymous(e.remote)), git.MaskURLsIn(e.reason, e.remote))
}

func (e *accessError) Unwrap() error { return e.err }

// classify turns what stopped a listing into the caller's error: a reason to ask git, or
// an error worded as git's. ctx is the listing's own context; handshake reports whether a
// TLS handshake failed.
func classify(ctx context.Context, remote string, timeout time.Duration, handshake bool, err error) error {
	var remoteErr *RemoteError
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return &accessError{remote, fmt.Sprintf("operation timed out after %v", timeout), procexec.ErrTimedOut}
	case context.Canceled:
		return &accessError{remote, "canceled", procexec.ErrCanceled}
	}
	switch {
	case errors.Is(err, ErrUseGit):
		return useGit("%s", git.MaskURLsIn(strings.TrimPrefix(err.Error(), ErrUseGit.Error()+": "), remote))
	case handshake:
		// Go and git's GnuTLS may judge a certificate or a protocol version differently.
		return useGit("TLS handshake: %s", git.MaskURLsIn(innermost(err).Error(), remote))
	case errors.As(err, new(*net.DNSError)):
		// git resolves through the C library, which may know names Go's resolver does not.
		return useGit("resolving the host: %s", innermost(err).Error())
	case errors.Is(err, errCutShort):
		// git would fail too, but a second try through git costs little and may succeed.
		return useGit("%s", git.MaskURLsIn(err.Error(), remote))
	case errors.As(err, &remoteErr):
		return fmt.Errorf("git ls-remote %s: fatal: %s", git.MaskURL(remote), git.MaskURLsIn(oneLine(remoteErr.Error()), remote))
	case errors.Is(err, errTooManyRefs):
		return git.TooManyRefs(remote)
	}
	return &accessError{remote, describe(err), err}
}

// isTLSError reports whether err comes from a TLS handshake or certificate check.
func isTLSError(err error) bool {
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	var record tls.RecordHeaderError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &record) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}

// describe words a transport error as curl would, where it is simple to: the failed
// connection with its host and port, and Go's own words without the request URL otherwise.
func describe(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && op.Addr != nil {
		host, port, _ := net.SplitHostPort(op.Addr.String())
		return fmt.Sprintf("Failed to connect to %s port %s: %v", host, port, innermost(err))
	}
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err.Error()
	}
	return err.Error()
}

// innermost is the last error of err's chain (a syscall's errno, say).
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// oneLine bounds a server's message: one line of at most 1,000 bytes, as git.Message does.
func oneLine(s string) string {
	return git.Message([]byte(strings.ReplaceAll(s, "\n", " ")))
}

// anonymous is the remote without its user and password, as git quotes it in errors.
func anonymous(remote string) string {
	u, err := url.Parse(remote)
	if err != nil || u.User == nil {
		return remote
	}
	u.User = nil
	return u.String()
}

func withSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}
