package forgehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"pipelined/internal/forge"

	"pipelined/internal/config"
	"pipelined/internal/workdir"
)

// busyWait is how soon a Sender looks again at an outbox another Sender holds.
const busyWait = 100 * time.Millisecond

// Defaults of the Sender.
const (
	DefaultRequestTimeout = 30 * time.Second // one request, connection included: a hung forge holds nothing longer
	DefaultGiveUp         = 24 * time.Hour   // a status not delivered within this time of its change is set aside, once tried
	DefaultPoll           = time.Second      // how often the outbox is looked at for records others wrote
)

// SenderOptions configure a Sender.
type SenderOptions struct {
	Outbox string                // the outbox directory (workdir.Layout.OutboxDir)
	Config func() *config.Config // the configuration in force: where each project's records go
	Log    *slog.Logger
	// RequestTimeout bounds one request; default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// GiveUp is how long after its state changed a record is tried (at least once by this
	// Sender); default DefaultGiveUp.
	GiveUp time.Duration
	// Poll is how often the outbox is read; default DefaultPoll. Wake makes it read at once.
	Poll time.Duration
	// Only, if set, restricts the Sender to the records it selects (pipeline-build by hand
	// delivers its own, and leaves the rest for the daemon).
	Only func(forge.Record) bool
	// Backoff is the first wait after a failure, doubled at each further one up to 10 min;
	// default 5 s.
	Backoff time.Duration
	// Client sends the requests; nil for one with RequestTimeout that follows no redirect.
	Client *http.Client
}

// Sender delivers the outbox's records, newest state per commit and context, one request at
// a time. It backs off per forge (address and token) on network errors, 5xx and rate
// limits, sets aside a record the forge refuses (another 4xx) or that is older than GiveUp,
// and logs each of these once.
type Sender struct {
	o     SenderOptions
	wake  chan struct{}
	apis  map[string]*apiState // forge address and token source → its back-off
	tried map[string]bool      // records this Sender failed to deliver: an old one is given up
}

// apiState is one forge's back-off.
type apiState struct {
	notBefore time.Time     // no request before
	backoff   time.Duration // the last back-off; 0 while the forge answers
	why       string        // the last failure logged, so that each is logged once
}

// NewSender returns a Sender; start it with Run.
func NewSender(o SenderOptions) *Sender {
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.GiveUp <= 0 {
		o.GiveUp = DefaultGiveUp
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Backoff <= 0 {
		o.Backoff = firstBackoff
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Client == nil {
		o.Client = NewClient(o.RequestTimeout)
	}
	return &Sender{o: o, wake: make(chan struct{}, 1), apis: map[string]*apiState{}, tried: map[string]bool{}}
}

// Wake makes the Sender read the outbox now. It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers records until ctx ends, and returns then: a request in flight is canceled.
// It never blocks its caller's work; records it could not deliver stay for the next start.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
		s.Pass(ctx)
		t.Reset(s.o.Poll)
	}
}

// Pass tries each record once (unless its forge is backing off) and returns how many are
// still waiting, and the earliest time one of them may be tried again.
func (s *Sender) Pass(ctx context.Context) (waiting int, next time.Time) {
	// The outbox is made by the first record: a work directory without a forge stays as it was.
	o := forge.AtOutbox(s.o.Outbox)
	unlock, ok := o.Lock()
	if !ok {
		return 1, time.Now().Add(busyWait) // another Sender delivers now
	}
	defer unlock()
	o.CleanTmp()
	groups, strange, err := o.List()
	if errors.Is(err, fs.ErrNotExist) {
		return 0, time.Time{}
	}
	if err != nil {
		s.note("outbox", "cannot read the forge outbox", err.Error())
		return 0, time.Time{}
	}
	s.note("outbox", "", "")
	for _, name := range strange {
		s.setAside(o, name, forge.Record{}, "its name is not a status record's")
	}
	for _, g := range groups {
		if ctx.Err() != nil {
			break
		}
		at, wait := s.handleKey(ctx, o, g)
		if wait {
			waiting++
			if next.IsZero() || at.Before(next) {
				next = at
			}
		}
	}
	return waiting, next
}

// handleKey tries the newest record of a key. Older ones go once it is delivered, refused or
// given up; should it be unreadable (a hostile file), it is set aside and the next one takes
// its place, so that no file can push out a state pipelined wrote.
func (s *Sender) handleKey(ctx context.Context, o *forge.Outbox, g []forge.Entry) (time.Time, bool) {
	for _, e := range g {
		rec, err := o.Read(e)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a newer record of its key replaced it since the listing: no fault
		}
		if err != nil {
			s.setAside(o, e.Name, forge.Record{}, "cannot read it: "+err.Error())
			continue
		}
		return s.handle(ctx, o, e, rec)
	}
	return time.Time{}, false
}

// handle tries one record. It returns whether the record still waits, and from when it
// may be tried again.
func (s *Sender) handle(ctx context.Context, o *forge.Outbox, e forge.Entry, rec forge.Record) (time.Time, bool) {
	if s.o.Only != nil && !s.o.Only(rec) {
		return time.Time{}, false
	}
	p := s.o.Config().Project(rec.Project)
	if p == nil || p.Forge.Kind == "" {
		s.setAside(o, e.Name, rec, fmt.Sprintf("project %q reports to no forge in the configuration now", rec.Project))
		return time.Time{}, false
	}
	api := s.api(p.Forge)
	// Given up once this Sender has tried it too: a record that waited while no daemon ran
	// still goes to a forge that answers.
	if time.Since(rec.At) > s.o.GiveUp && s.tried[e.Name] {
		delete(s.tried, e.Name)
		s.setAside(o, e.Name, rec, fmt.Sprintf("not delivered within %v of the change; the last failure: %s", s.o.GiveUp, orNone(api.why)))
		o.RemoveOlder(e)
		return time.Time{}, false
	}
	if now := time.Now(); now.Before(api.notBefore) {
		return api.notBefore, true
	}
	v, wait, msg := s.send(ctx, p.Forge, rec)
	switch v {
	case delivered:
		delete(s.tried, e.Name)
		o.Done(e)
		s.recovered(p.Forge, api)
		s.o.Log.Info("forge status delivered", attrs(rec, p.Forge)...)
		return time.Time{}, false
	case refused:
		delete(s.tried, e.Name)
		s.setAside(o, e.Name, rec, "the forge refused it: "+msg)
		o.RemoveOlder(e)
		return time.Time{}, false
	}
	s.tried[e.Name] = true
	s.backOff(p.Forge, api, v, wait, msg)
	return api.notBefore, true
}

// send makes one request for rec and reads the answer.
func (s *Sender) send(ctx context.Context, f config.Forge, rec forge.Record) (verdict, time.Duration, string) {
	token, err := forge.Token(f)
	if err != nil {
		return retry, 0, err.Error()
	}
	rctx, cancel := context.WithTimeout(ctx, s.o.RequestTimeout)
	defer cancel()
	req, err := statusRequest(rctx, f, rec, token)
	if err != nil {
		return refused, 0, err.Error()
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return retry, 0, forge.Clip(err.Error()) // names the URL and the cause; the token is in a header only
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	v, wait := classify(f.Kind, resp, body, time.Now())
	msg := resp.Status
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += " (a redirect to " + forge.Clip(loc) + "; set forge.url to the address of the API)"
	} else if v != delivered {
		msg += ": " + forgeMessage(body, token)
	}
	// The status line and a Location are the forge's too: either could echo the token.
	return v, wait, strings.ReplaceAll(msg, token, "***")
}

// api returns the back-off state of a forge: its address and where its token comes from.
func (s *Sender) api(f config.Forge) *apiState {
	k := f.URL + "\x00" + f.TokenFile + "\x00" + f.TokenEnv
	if s.apis[k] == nil {
		s.apis[k] = &apiState{}
	}
	return s.apis[k]
}

// backOff makes a forge wait after a failure: as long as a rate limit says, else doubling.
func (s *Sender) backOff(f config.Forge, api *apiState, v verdict, wait time.Duration, msg string) {
	api.backoff = min(max(api.backoff*2, s.o.Backoff), maxBackoff)
	d := api.backoff
	switch {
	case v == limited && wait > 0:
		d = wait // as the forge says
	case v == limited:
		d = max(rateLimitWait, api.backoff) // GitHub: at least a minute, longer each time
	}
	api.notBefore = time.Now().Add(d)
	if msg != api.why {
		api.why = msg
		what := "cannot deliver statuses to the forge, trying again"
		if v == limited {
			what = "the forge's rate limit is reached, waiting"
		}
		s.o.Log.Warn(what, "forge", f.Kind, "url", f.URL, "error", msg, "retry_in", d.Round(time.Second).String())
	}
}

// recovered resets a forge's back-off after an answer, and says so if it had failed.
func (s *Sender) recovered(f config.Forge, api *apiState) {
	if api.why != "" {
		s.o.Log.Info("the forge answers again", "forge", f.Kind, "url", f.URL)
	}
	*api = apiState{}
}

// setAside moves a record to the outbox's bad/ and logs why, once.
func (s *Sender) setAside(o *forge.Outbox, name string, rec forge.Record, reason string) {
	attrs := append(attrs(rec, config.Forge{}), "file", name, "reason", reason)
	if err := o.SetAside(name, reason); err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	s.o.Log.Error("forge status set aside, not delivered", attrs...)
}

// note logs a problem of the outbox itself when it changes.
func (s *Sender) note(key, msg, why string) {
	api := s.apis[key]
	if api == nil {
		api = &apiState{}
		s.apis[key] = api
	}
	if why != api.why && why != "" {
		s.o.Log.Error(msg, "dir", s.o.Outbox, "error", why)
	}
	api.why = why
}

func attrs(rec forge.Record, f config.Forge) []any {
	a := []any{}
	if rec.Project != "" {
		a = append(a, "project", rec.Project, "ref", rec.Ref, "commit", workdir.ShortCommit(rec.Commit), "state", string(rec.State))
	}
	if f.Kind != "" {
		a = append(a, "forge", f.Kind)
	}
	return a
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
